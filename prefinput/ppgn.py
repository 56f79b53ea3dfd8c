"""What sampling_class.py and sampling_caption.py share (the original's
util.py and the common half of their main()): the command line, loading the
encoder and generator, the start code, inpainting masks, and writing the
results.

The samplers themselves (the update rule) are in sampler.py, sampling_class.py
and sampling_caption.py, where a reader of the original looks for them."""
import contextlib
import json
import os
from collections import namedtuple

import numpy as np

from . import collage, modelcheck, nets
from .cli import ArgumentParser, FiniteFloat, Seed, add_setting_flags, optional_path, UserError
from .files import atomic_folder, atomic_path, check_folder, save_npz
from .image import read_rgb, save_image
from .steps import check_code_layers, check_covers, encode, read_image_for

# The original hard-codes these for 227x227 images; other sizes scale them.
ORIGINAL_SIZE = 227
HOLE_SIZE = 100          # util.get_mask: a 100x100 hole to fill in


# --- command line ---------------------------------------------------------

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


# --- nets -----------------------------------------------------------------

def load_image_nets(encoder_definition, encoder_weights, generator_definition, generator_weights,
                    gen_in_layer, gen_out_layer, opt_layer, init_file=None):
    """The encoder E (image -> code) and the generator G (code -> image),
    which backpropagates to its input without weight gradients; the blobs
    named, the generator's image size and the start image are checked."""
    encoder = nets.load(encoder_definition, encoder_weights)
    generator = nets.load(generator_definition, generator_weights, weight_gradients=False)
    nets.check_blob(generator, gen_in_layer, '--gen_in_layer', 'the generator')
    nets.check_blob(generator, gen_out_layer, '--gen_out_layer', 'the generator')
    nets.check_blob(encoder, opt_layer, '--opt_layer', 'the encoder')
    check_code_layers(generator, gen_in_layer, encoder, opt_layer)
    check_covers(generator, gen_out_layer, encoder, 'the encoder')
    if init_file:
        read_rgb(init_file, '--init_file')
    return encoder, generator


# --- start code -----------------------------------------------------------

def random_code(generator, gen_in_layer):
    """The original's random start: one draw of N(0, 1) in the code's shape."""
    return np.random.normal(0, 1, generator.blobs[gen_in_layer].data.shape)


def encode_image(encoder, path, layer, mean_file, mask=None):
    """The original's get_code: the encoder's `layer` code of the image at
    `path` (masked when given), and the image as the encoder saw it."""
    data = read_image_for(encoder, path, mean_file)
    if mask is not None:
        data *= mask
    return encode(encoder, data, layer), data


# --- inpainting -----------------------------------------------------------

def get_mask(shape):
    """The original's util.get_mask for a CxHxW image: `mask` is 1 in a
    square hole at a random place (two np.random.randint draws, left then
    top), `mask_neg` its complement.  The hole is 100x100 at 227x227 and
    scales with the image."""
    _, height, width = shape
    hole_h, hole_w = HOLE_SIZE * height // ORIGINAL_SIZE, HOLE_SIZE * width // ORIGINAL_SIZE
    left = np.random.randint(low=0, high=width - hole_w)
    top = np.random.randint(low=0, high=height - hole_h)
    mask = np.zeros(shape)
    mask[:, top:top + hole_h, left:left + hole_w] = 1
    return mask, 1 - mask


def apply_mask(img, mask, context):
    """Fill the hole of `context` with `img` (in place, like the original)."""
    img[0] *= mask
    img += context
    return img


def stitch(left, right):
    """Two 1x3xHxW images side by side, 1 white-ish column between them."""
    size = right.shape[2]
    output = np.full((1, 3, size, 2 * size + 1), 255.0)
    output[:, :, :size, :size] = left
    output[:, :, :, size + 1:] = right
    return output


# --- results --------------------------------------------------------------

# A kept sample: the image (1x3xHxW BGR; None unless --save_raw needs it), its
# file, its label and the unit it was conditioned on
Sample = namedtuple('Sample', 'image file label unit')


def sample_name(output_dir, i):
    return "%s/samples/%05d.jpg" % (output_dir, i)


@contextlib.contextmanager
def kept_samples(output_dir, save_every, write_labels, keep_images):
    """The Chain a run's kept samples are written to as they are made (None
    when `save_every` is 0: then <output_dir>/samples is not touched; with
    `keep_images`, each Sample also holds its array).  They go
    into a new folder beside <output_dir>/samples, which replaces it when the
    run succeeds; a failed or interrupted run leaves samples/ as it was and
    what it made in samples.partial/ (files.atomic_folder)."""
    if save_every <= 0:
        yield None
        return
    os.makedirs(output_dir, exist_ok=True)
    with atomic_folder(os.path.dirname(sample_name(output_dir, 0))) as folder:
        yield Chain(output_dir, folder, write_labels, keep_images)


class Chain:
    """Writes each kept sample when it is made (so an interrupted chain keeps
    them) into `folder`, under the name it has once `folder` is swapped in."""

    def __init__(self, output_dir, folder, write_labels, keep_images):
        self.output_dir, self.folder, self.write_labels, self.keep_images = \
            output_dir, folder, write_labels, keep_images

    def keep(self, image, i, label, unit):
        """Write sample `i` (with its label if asked); returns its Sample."""
        name = sample_name(self.output_dir, i)
        path = os.path.join(self.folder, os.path.basename(name))
        if self.write_labels:  # labelled under its temporary name: the file appears whole, label and all
            with atomic_path(path) as labelled:
                save_image(image, labelled)
                collage.label_below(labelled, str(label))
        else:
            save_image(image, path)
        return Sample(image.copy() if self.keep_images else None, name, label, unit)


def save_results(filename, output_image, last_sample, samples, raw_settings=None):
    """Write the final image and, given `raw_settings` (the run's settings,
    recorded), the arrays beside it (the samples are written as they are made)."""
    os.makedirs(os.path.dirname(filename) or '.', exist_ok=True)
    save_image(output_image, filename)
    print(os.path.join(os.getcwd(), filename))
    if raw_settings is not None:
        save_raw(os.path.splitext(filename)[0] + '.npz', last_sample, samples, raw_settings)


def save_raw(path, last_sample, samples, settings):
    shape = (0,) + last_sample.shape
    stacked = np.stack([sample.image for sample in samples]) if samples else np.zeros(shape, np.float32)
    save_npz(path, image=np.asarray(last_sample, np.float32), samples=stacked.astype(np.float32),
             sample_names=np.array([os.path.basename(sample.file) for sample in samples]), args=json.dumps(settings))
