"""The command line both PPGN samplers take (sampling_class.py and
sampling_caption.py: the common half of the original's main()), with the
original's defaults, and the files a start from a real image reads.

The samplers themselves (the update rule) are in sampler.py, sampling_class.py
and sampling_caption.py, where a reader of the original looks for them."""
from prefinput.cli import ArgumentParser, FiniteFloat, Seed, add_setting_flags, optional_path
from prefinput.errors import UserError
from prefinput.files import check_folder
from prefinput.netdefs import modelcheck


def sampling_parser(description):
    """The flags both sampling programs take, with the original's defaults,
    plus a flag (and environment variable) for every path in settings.py."""
    parser = ArgumentParser(description=description)
    parser.add_argument('--n_iters', metavar='iter', type=int, default=10,
                        help='Number of sampling steps per each unit')
    parser.add_argument('--threshold', metavar='w', action=FiniteFloat, default=-1.0, nargs='?',
                        help='The probability threshold to decide whether to keep an image')
    parser.add_argument('--save_every', metavar='save_iter', type=int, default=1,
                        help='Save a sample every N iterations. 0 to disable saving')
    parser.add_argument('--reset_every', metavar='reset_iter', type=int, default=0,
                        help='Reset the code every N iterations')
    parser.add_argument('--lr', metavar='lr', action=FiniteFloat, default=2.0, nargs='?', help='Learning rate')
    parser.add_argument('--lr_end', metavar='lr', action=FiniteFloat, default=-1.0, nargs='?',
                        help='Ending learning rate (default: --lr)')
    parser.add_argument('--epsilon1', metavar='lr', action=FiniteFloat, default=1.0, nargs='?', help='Prior')
    parser.add_argument('--epsilon2', metavar='lr', action=FiniteFloat, default=1.0, nargs='?', help='Condition')
    parser.add_argument('--epsilon3', metavar='lr', action=FiniteFloat, default=1.0, nargs='?', help='Noise')
    parser.add_argument('--seed', metavar='n', action=Seed, default=0, nargs='?', help='Random seed')
    parser.add_argument('--xy', metavar='n', type=int, default=0, nargs='?',
                        help='Spatial position for units of a spatial blob (conv, pooling)')
    parser.add_argument('--opt_layer', metavar='s', type=str, default='fc6',
                        help="Layer at which we optimize a code (the encoder's code layer)")
    parser.add_argument('--act_layer', metavar='s', type=str, default='fc8',
                        help='Blob at which we activate a neuron (any blob of the condition net)')
    parser.add_argument('--init_file', metavar='s', type=optional_path, default=None,
                        help='Init image (None: start from a random code)')
    parser.add_argument('--write_labels', action='store_true', default=False,
                        help='Write class labels to images')
    parser.add_argument('--output_dir', metavar='b', type=str, default='.',
                        help='Output directory for saving results')
    parser.add_argument('--save_raw', action='store_true',
                        help='also write <final image>.npz: image (the last sample, float32 BGR) '
                             'and samples (the kept samples, stacked in order)')
    parser.add_argument('--offline', action='store_true',
                        help='never download a missing model; say how to fetch it instead')
    add_setting_flags(parser, ['net_definition', 'net_weights'])
    add_setting_flags(parser, ['generator_definition', 'generator_weights', 'gen_in_layer', 'gen_out_layer'],
                      sources={'generator_definition': 'ppgn_generator_definition',
                               'generator_weights': 'ppgn_generator_weights',
                               'gen_in_layer': 'ppgn_generator_in_layer',
                               'gen_out_layer': 'ppgn_generator_out_layer'})
    add_setting_flags(parser, ['encoder_definition', 'encoder_weights', 'mean_file_mat'])
    modelcheck.add_python_layer_flag(parser)
    return parser


def parse(parser, argv):
    """The arguments, with the original's one fix-up: a constant rate by default."""
    args = parser.parse_args(argv)
    if args.lr_end < 0:
        args.lr_end = args.lr
    if args.n_iters < 1:
        raise UserError(f"--n_iters must be at least 1, not {args.n_iters}")
    for flag in ('save_every', 'reset_every'):
        if getattr(args, flag) < 0:
            raise UserError(f"--{flag} {getattr(args, flag)}: must be 0 or more")
    check_folder(args.output_dir, '--output_dir')
    return args


# --- the program interface (prefinput/program.py), as both programs have it -----

NET_FLAGS = ("act_layer", "xy", "gen_in_layer", "gen_out_layer", "opt_layer")


def output_argv(folder):
    return ["--output_dir", folder]


def output_folder(args):
    return args.output_dir


def sweep_problem(args):
    return None  # each point's chain is in a folder of its own


def image_net_files(encoder_definition, encoder_weights, generator_definition, generator_weights, init_file,
                    mean_file):
    """The files of the encoder and the generator, and those a start from a
    real image reads."""
    start = [init_file, mean_file] if init_file else []
    return [encoder_definition, encoder_weights, generator_definition, generator_weights] + start
