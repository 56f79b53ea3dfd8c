"""cnnpref's examples as one program of the interface every program has
(prefinput/program.py), for the example driver and sweep.py: the preferred
image of one --channel (or --objective) of the target layer by one of the
four variants, with the options the original examples set
(preferred_images.py) and the nets the examples' environment variables
choose (common.py), into --output_dir.

    examples/cnnpref/cnnpref_program.py --variant dgn_gd --which higher --channel 5 --output_dir out
"""
import argparse

import common  # first: it puts the repository on sys.path and imports prefinput before numpy
import numpy as np

import preferred_images as examples
from prefinput import cli, objectives
from prefinput.cli import ArgumentParser, Seed, UserError
from prefinput.files import check_folder, hold_output_folder
from prefinput.program import Loaded, Units
from prefinput.results import Result

# A channel's image is named after its layer and channel; a sum's after the sum
UNITS = (Units("channel", layer_flag="layer", name_flags=frozenset({"channel"})),
         Units("objective", numbered=False, name_flags=frozenset({"objective"})))
NET_FLAGS = ("variant", "which", "layer")


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.split("\n\n")[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog="OBJECTIVE, NUM_OF_IMG and RESULT_DIR below are the example scripts'; here "
                                   "--objective, --channel and --output_dir say it.\n\n"
                                   + common.epilog(with_generator=True))
    parser.add_argument("--variant", choices=sorted(examples.VARIANTS), default="gd", help="cnnpref.prefer_img_<variant>")
    parser.add_argument("--which", choices=["lower", "higher"], default="higher",
                        help="the examples' target layer: the CNN's first convolution (its centre unit) or fc8 "
                             "(environment: LAYER, another)")
    parser.add_argument("--channel", type=int, help="the channel (an fc layer's unit) to raise")
    parser.add_argument("--objective", metavar="SUM",
                        help='instead of --channel, a weighted sum of units of one blob, e.g. "fc8:980 + fc8:470"')
    parser.add_argument("--seed", action=Seed, default=None, help="seed numpy.random (the start) first")
    parser.add_argument("--output_dir", default=".", help="output directory")
    args = parser.parse_args(argv)
    if (args.channel is None) == (args.objective is None):
        parser.error("give what to raise: --channel (e.g. --channel 5) or --objective, not both")
    if args.objective:
        objectives.parse(args.objective)  # a malformed sum is one line before any file is read
    args.layer = common.target_layer(args.which)
    check_folder(args.output_dir, "--output_dir")
    return args


def needed_files(args):
    return common.needed_files(args.variant.startswith("dgn_"))


def load_nets(args):
    net, _, net_gen = examples.load_nets(args.variant, args.which)
    loaded = Loaded(classifier=net, generator=net_gen)
    check_units(args, loaded)
    return loaded


def check_units(args, loaded):
    """The sum's terms in one blob of the CNN, or --channel in the layer."""
    if args.objective:
        common.objective_target(loaded.classifier, objectives.parse(args.objective))
        return
    channels = loaded.classifier.blobs[args.layer].data.shape[1]
    if not 0 <= args.channel < channels:
        raise UserError(f"--channel {args.channel} is out of range: {args.layer} has channels 0..{channels - 1}")


def run(args, loaded):
    """The preferred image, its arrays and options in --output_dir."""
    net, net_gen = loaded.classifier, loaded.generator
    if args.seed is not None:
        np.random.seed(args.seed)
    weight = examples.FEATURE_WEIGHT[args.variant][args.which]
    if args.objective:
        layer, (target,) = examples.objective_targets(net, objectives.parse(args.objective), args.variant,
                                                      args.which)
    else:
        layer, target = args.layer, examples.channel_target(net, args.layer, args.which, weight, args.channel)
    opts = dict(examples.OPTIONS[args.variant](args.which, net, net_gen), save_intermediate_path=args.output_dir)
    common.save_options(args.output_dir, opts)
    image = examples.preferred_image(args.variant, net, net_gen, layer, target, opts, args.output_dir)
    return [Result(image, args.channel, objective=args.objective)]


def units_of(args):
    if args.objective:
        return [term.unit for term in objectives.parse(args.objective).terms]
    return [args.channel]


def output_argv(folder):
    return ["--output_dir", folder]


def output_folder(args):
    return args.output_dir


def scoring(args, size):
    """Not scored on a net (common.save_result writes each picture's manifest)."""
    return dict(net=None, layer=None, xy=0, panel_size=size, act_region=None)


def sweep_problem(args):
    return None


def main(argv=None):
    args = parse_args(argv)
    loaded = load_nets(args)
    with hold_output_folder(args.output_dir, "--output_dir"):  # one run at a time into a folder
        run(args, loaded)


if __name__ == "__main__":
    cli.run(main)
