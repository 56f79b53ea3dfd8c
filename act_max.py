#!/usr/bin/env python3
"""Synthesize the preferred input of a neuron with a deep generator network
(DGN-AM: Nguyen, Dosovitskiy, Yosinski, Brox & Clune, NIPS 2016), on our Caffe.

Gradient ascent on the code fed to an image generator: the generated image,
cropped to the classifier's input, should highly activate one unit of the
classifier.  The same algorithm, order of operations and float32/float64
arithmetic as the original act_max.py (Evolving-AI-Lab/synthesizing), so it
gives the original's numbers.  Any blob of the classifier can be --act_layer;
a unit of a spatial blob (a convolution's, a pooling's) is taken at (--xy, --xy).
Several --unit values run with the nets loaded once; each starts from the same
seed, as separate runs did.  --objective raises a weighted sum of units
instead, in any blobs ("fc8:980 + fc8:470", prefinput.objectives).  --batch N optimises N units at once, one
forward/backward pass for all of them (faster; see docs/performance.md).
"""
import os
os.environ.setdefault("GLOG_minloglevel", "2")  # suppress Caffe's verbose prints

import argparse
import contextlib
import sys

import prefinput  # noqa: F401  first, before numpy loads: the goldens' numbers on every CPU (prefinput/cpu.py)
import numpy as np

from prefinput import cli, collage, objectives
from prefinput.cli import ArgumentParser, FiniteFloat, Seed, add_setting_flags, optional_path, print_settings
from prefinput.errors import UserError
from prefinput.files import atomic_folder, check_folder, check_name, hold_output_folder, save_raw
from prefinput.image import read_rgb, save_image
from prefinput.netdefs import loading, modelcheck
from prefinput.program import Loaded, Units
from prefinput.registry import fetching
from prefinput.results import Frame, Result
from prefinput.steps import NAN_SKIPPED, ascend, centre_crop, check_code_layers, check_covers, check_finite, \
    check_unit, encode, input_blob, read_bounds, read_image_for, schedule

DIVERGED = "try a smaller --start_lr or --end_lr"  # the fix for a code or image that is no longer finite

# The program interface (prefinput/program.py): units by number, or sums of units
NAMED = frozenset({"n_iters", "L2", "start_lr", "seed"})  # in output_name, besides the unit
UNITS = (Units("unit", layer_flag="act_layer", batch_flag="batch", name_flags=NAMED | {"act_layer", "unit"}),
         Units("objective", numbered=False, batch_flag="batch", name_flags=NAMED | {"objective"}))
NET_FLAGS = ("act_layer", "xy", "gen_in_layer", "gen_out_layer", "opt_layer")


def make_step_net(net, targets, images, step_size, running):
    """Forward the `images` (one per objective of `targets`) through the
    classifier, backpropagate each one's objective to it and step each
    `running` image along its gradient.  Returns each image's gradient norm
    and its objective's value."""
    data = input_blob(net)

    points = objectives.forward(net, targets, **{data: images})
    obj_acts = [objective.value(points, b) for b, objective in enumerate(targets)]
    acts = [objective.unit_values(points, b) for b, objective in enumerate(targets)]

    objectives.backward(net, targets, diffs=[data])  # resets the objective after the step
    grad_norms = [ascend(net.blobs[data].data[b], net.blobs[data].diff[b], step_size) if running[b] else 0
                  for b in range(len(targets))]

    for b, objective in enumerate(targets):
        if grad_norms[b] not in (0, NAN_SKIPPED):  # the original prints nothing for a skipped step
            best_unit = acts[b].argmax()
            print("max: %4s [%.2f]\t obj: %4s [%.2f]\t norm: [%.2f]" % (best_unit, acts[b][best_unit],
                                                                        objective.label, obj_acts[b], grad_norms[b]))
    return grad_norms, [obj_acts[b] if grad_norms[b] not in (0, NAN_SKIPPED) else 0 for b in range(len(targets))]


def make_step_generator(net, x, x0, start, end, step_size, running):
    """Backpropagate the classifier's change to each image, x - x0, through the
    generator and step each `running` code along it; return each code's
    gradient norm."""
    src = net.blobs[start]  # the codes
    dst = net.blobs[end]    # the generated images

    dst.diff[...] = x - x0
    net.backward(start=loading.layer_of(net, end, last=True))
    g = src.diff.copy()
    dst.diff.fill(0.)  # reset the objective after each step
    return [ascend(src.data[b:b + 1], g[b:b + 1], step_size) if running[b] else 0 for b in range(len(g))]


def constrain(code, clip, upper_bound, lower_bound, L2):
    """The code after the original's clip to [-1, 1] or per-unit bounds, and L2 decay."""
    if clip:
        code = np.clip(code, a_min=-1, a_max=1)
    elif upper_bound is not None:  # each code unit within its own range
        code = np.maximum(code, lower_bound)
        code = np.minimum(code, upper_bound)
    if 0 < L2 < 1:  # L2 decay of the code
        code[:] *= L2
    return code


def activation_maximization(net, generator, gen_in_layer, gen_out_layer, start_code, params, units,
                            clip=False, xy=0, upper_bound=None, lower_bound=None, debug_dir=None):
    """Optimise one code per unit of `units`, all from `start_code` (1xD), so
    that the generator's image raises the unit (at (xy, xy) in a spatial blob)
    of `net`; a unit may be a prefinput.objectives.Objective instead (a
    weighted sum of units, in any blobs).  Returns, per unit, the last image the classifier saw (1x3xHxW,
    BGR, mean-subtracted: not the most activating one, since activation and
    recognisability are not correlated), its activation and the final code.
    One unit is the original loop; with `debug_dir` each iteration's image is
    saved there and labelled with its activation."""
    n = len(units)
    data = input_blob(net)
    loading.set_batch(generator, gen_in_layer, n)
    loading.set_batch(net, data, n)
    inside = centre_crop(generator.blobs[gen_out_layer].data.shape, net.blobs[data].data.shape)

    print("Starting optimizing" if n == 1 else "Starting optimizing %d units at once" % n)
    src = generator.blobs[gen_in_layer]
    if src.data.shape[1:] != start_code.shape[1:]:
        raise UserError(f"the start code is {start_code.shape}; {gen_in_layer} takes {src.data.shape}")
    src.data[:] = start_code
    running = np.ones(n, dtype=bool)
    best_xx, best_act = [None] * n, [-sys.maxsize] * n
    debug_images = []  # (file, activation)

    for o in params:
        targets = [unit if isinstance(unit, objectives.Objective) else objectives.unit(net, o["layer"], unit, xy)
                   for unit in units]
        for i in range(o["iter_n"]):
            step_size = schedule(o["start_step_size"], o["end_step_size"], i, o["iter_n"])

            # 1. the codes through the generator give images x0
            check_finite(src.data, "code", i, DIVERGED)
            generator.forward(**{gen_in_layer: src.data})
            x0 = generator.blobs[gen_out_layer].data
            cropped_x0 = x0.copy()[inside]
            check_finite(x0, "image", i, DIVERGED)  # all of it: x - x0 goes back into the generator

            # 2-3. the classifier's gradient at each unit moves its image to x
            grad_norm_net, acts = make_step_net(net, targets, cropped_x0, step_size, running)
            x = net.blobs[data].data
            check_finite(x, "image", i, DIVERGED)  # it goes back into the generator as a gradient
            for b in np.flatnonzero(running):
                best_xx[b], best_act[b] = cropped_x0[b:b + 1].copy(), acts[b]

            # 4. x back into the generated images, 5. through the generator into the codes
            updated_x0 = x0.copy()
            updated_x0[inside] = x.copy()
            grad_norm_generator = make_step_generator(generator, updated_x0, x0, gen_in_layer, gen_out_layer,
                                                      step_size, running)
            for b in np.flatnonzero(running):
                src.data[b:b + 1] = constrain(src.data[b:b + 1].copy(), clip, upper_bound, lower_bound, o["L2"])

            if debug_dir:
                print(" > %s " % i)
                name = os.path.join(debug_dir, "%03d.jpg" % i)
                save_image(x.copy(), name)
                debug_images.append((name, acts[0]))

            for b in np.flatnonzero(running):
                if grad_norm_generator[b] == 0 or grad_norm_net[b] == 0:
                    print("%s grad_norm_%s is 0" % ("" if n == 1 else " unit %s:" % targets[b].label,
                                                    "generator" if grad_norm_generator[b] == 0 else "net"))
                    running[b] = False
            if not running.any():
                break

    print(" -------------------------")
    print(" Result: obj act %s " % (best_act if n > 1 else "[%s]" % best_act[0]))
    if debug_dir:
        print("Saving list of activations...")
        for name, act in debug_images:
            collage.label_below(name, "%.2f" % act)
    return best_xx, best_act, src.data.copy()


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.split("\n\n")[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--unit", type=int, nargs="+", help="unit(s) to visualize, e.g. 945")
    parser.add_argument("--objective", nargs="+", metavar="SUM",
                        help='instead of --unit, a weighted sum of units, e.g. "fc8:980 + fc8:470" (conv5:196@6,6: '
                             'at a position; conv5:196: a channel\'s mean; fc8:980 - 0.5*fc8:437); several: one '
                             'image each (docs/dgn-am.md)'),
    parser.add_argument("--n_iters", type=int, default=10, help="number of iterations")
    parser.add_argument("--L2", action=FiniteFloat, default=1.0, help="L2 decay of the code (used when in (0, 1))")
    parser.add_argument("--start_lr", action=FiniteFloat, default=2.0, help="learning rate")
    parser.add_argument("--end_lr", action=FiniteFloat, default=-1.0, help="ending learning rate (< 0: start_lr)")
    parser.add_argument("--seed", action=Seed, default=0, help="random seed of the start code")
    parser.add_argument("--xy", type=int, default=0, help="spatial position (xy, xy) of a unit in a spatial blob")
    parser.add_argument("--opt_layer", help="encoder layer giving the start code of --init_file, e.g. fc6")
    parser.add_argument("--act_layer", default="fc8", help="blob of the unit to activate (any blob of the net)")
    parser.add_argument("--init_file", type=optional_path, default=None,
                        help="start from this image's code instead of noise (None: noise)")
    parser.add_argument("--debug", type=int, default=0, help="1: save every iteration's image to OUTPUT_DIR/debug")
    parser.add_argument("--clip", type=int, default=0, help="1: clip the code to [-1, 1]")
    parser.add_argument("--bound", type=optional_path, default=None,
                        help="file of the upper bound of each code unit (lower: 0)")
    parser.add_argument("--output_dir", default=".", help="output directory")
    parser.add_argument("--batch", type=int, default=1,
                        help="units optimised at once, in one forward/backward pass: faster, and equal to one at "
                             "a time up to float rounding (docs/performance.md); 1: one at a time, as the original")
    add_setting_flags(parser, ["net_weights", "net_definition", "generator_definition", "generator_weights",
                               "encoder_definition", "encoder_weights", "mean_file_mat"])
    parser.add_argument("--gen_in_layer", default="feat", help="generator's input blob (the code)")
    parser.add_argument("--gen_out_layer", default="deconv0", help="generator's output blob (the image)")
    parser.add_argument("--save_raw", action="store_true",
                        help="also write <image minus .jpg>.npz: the float32 BGR image and the final code")
    parser.add_argument("--offline", action="store_true", help="never download a missing model")
    modelcheck.add_python_layer_flag(parser)
    parser.add_argument("--list_blobs", action="store_true",
                        help="print the classifier's blobs (what --act_layer and --objective name) with their shapes, "
                             "and exit")
    args = parser.parse_args(argv)
    if args.list_blobs:
        return args
    if (args.unit is None) == (args.objective is None):
        parser.error("give the units to visualize: --unit (e.g. --unit 945) or --objective (e.g. "
                     "--objective \"fc8:980 + fc8:470\"), not both")
    # a malformed sum is one line before any file is read
    subjects = objectives.parse_all(args.objective) if args.objective else args.unit
    if args.end_lr < 0:  # default to a constant learning rate
        args.end_lr = args.start_lr
    if args.n_iters < 1:
        parser.error("--n_iters must be at least 1")
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    if args.batch > 1 and args.debug:
        parser.error("--debug 1 saves one unit's iterations: use it with --batch 1")
    if args.init_file and not args.opt_layer:
        parser.error("--init_file needs --opt_layer, the encoder layer that gives the code (e.g. fc6)")
    check_folder(args.output_dir, "--output_dir")
    longest = max((output_name(args.output_dir, args.act_layer, subject, args.n_iters, args.L2, args.start_lr,
                               args.seed) for subject in subjects), key=len)
    check_name(longest, "the output file")
    return args


def needed_files(args):
    """The models and data files this run reads (fetched first when missing)."""
    files = [args.net_definition, args.net_weights, args.generator_definition, args.generator_weights]
    if args.init_file:
        files += [args.encoder_definition, args.encoder_weights, args.mean_file_mat, args.init_file]
    return files + ([args.bound] if args.bound else [])


def load_bound(path, shape):
    """Upper and lower bounds of the code read as the original's --bound did:
    the first n values of the file, and 0 below (the code is a ReLU output)."""
    return read_bounds(path, shape[1], "--bound").reshape(shape), np.zeros(shape)


def output_name(output_dir, act_layer, unit, n_iters, L2, start_lr, seed):
    """The original's file name: <dir>/<layer>_<unit>_<iters>_<L2>_<lr>__<seed>.jpg; for an
    Objective `unit`, its slug (fc8_0980+fc8_0470) stands for <layer>_<unit>."""
    subject = unit.slug() if isinstance(unit, objectives.Objective) else "%s_%s" % (act_layer, str(unit).zfill(4))
    return "%s/%s_%s_%s_%s__%s.jpg" % (output_dir, subject, str(n_iters).zfill(2), L2, start_lr, seed)


def debug_dir(output_dir):
    """Where --debug 1 saves every iteration (the original used ./debug, which
    its example script deleted and made again in whatever folder it ran)."""
    return os.path.join(output_dir, "debug")


@contextlib.contextmanager
def debug_frames(args):
    """With --debug 1, a new folder for this run's iterations; once the run
    succeeds they replace an earlier run's NNN.jpg in OUTPUT_DIR/debug (other
    files there stay), and a failed run leaves the earlier ones as they were.
    Without --debug, None."""
    if not args.debug:
        yield None
        return
    with atomic_folder(debug_dir(args.output_dir), replacing="[0-9][0-9][0-9].jpg") as folder:
        yield folder


def load_nets(args):
    """The generator, the classifier (as the original's caffe.Classifier), and
    the encoder when starting from an image; every file is fetched and each
    blob named is checked first, so a mistake is the one line printed."""
    fetching.require(needed_files(args), offline=args.offline)
    generator = loading.load(args.generator_definition, args.generator_weights, weight_gradients=False)
    net = loading.classifier(args.net_definition, args.net_weights, mean=loading.CLASSIFIER_MEAN, channel_swap=(2, 1, 0),
                             weight_gradients=False, **loading.layer_outputs(args.net_definition, target_names(args)))
    for blob, flag in ((args.gen_in_layer, "--gen_in_layer"), (args.gen_out_layer, "--gen_out_layer")):
        objectives.check_blob(generator, blob, flag, "the generator")
    check_covers(generator, args.gen_out_layer, net, "the classifier")
    loading.check_batch([generator, net], min(args.batch, len(args.objective or args.unit)), "--batch")
    loaded = Loaded(classifier=net, generator=generator, encoder=None)
    check_units(args, loaded)
    if args.init_file:
        loaded.encoder = loading.load(args.encoder_definition, args.encoder_weights)
        objectives.check_blob(loaded.encoder, args.opt_layer, "--opt_layer", "the encoder")
        read_rgb(args.init_file, "--init_file")
    check_code_layers(generator, args.gen_in_layer, loaded.encoder, args.opt_layer)
    return loaded


def check_units(args, loaded):
    """Each unit of --unit in --act_layer, or each sum of --objective in the classifier."""
    if args.objective:
        for objective in objectives.parse_all(args.objective):
            objective.check(loaded.classifier)
    else:
        for unit in args.unit:
            check_unit(loaded.classifier, args.act_layer, unit, args.xy)
        loading.layer_of(loaded.classifier, args.act_layer)  # a blob the net computes, not its input


def target_names(args):
    """The blobs (or in-place layers: their output) the run's units are in."""
    if args.objective:
        return [term.name for objective in objectives.parse_all(args.objective) for term in objective.terms]
    return [args.act_layer]


def list_blobs(args):
    """--list_blobs: the classifier's blobs, what --act_layer and --objective may name."""
    fetching.require([args.net_definition], offline=args.offline)
    print(loading.blob_list(loading.load(args.net_definition)))


def start_code_and_bounds(args, loaded):
    """The start code (a real image's, or None for noise) and the code's bounds."""
    shape = (1,) + loaded.generator.blobs[args.gen_in_layer].data.shape[1:]  # the encoder's code too (load_nets)
    upper_bound = lower_bound = None
    if args.bound:
        upper_bound, lower_bound = load_bound(args.bound, shape)
    init_code = None
    if args.init_file:
        data = read_image_for(loaded.encoder, args.init_file, args.mean_file_mat)
        init_code = encode(loaded.encoder, data, args.opt_layer)
        print("Loaded start code: ", init_code.shape)
    return init_code, shape, upper_bound, lower_bound


def save_output(args, unit, image, code, frames_folder):
    """The unit's (or objective's) image under the original's name (and with --save_raw its
    arrays, with --debug the last iteration's image in `frames_folder`)."""
    filename = output_name(args.output_dir, args.act_layer, unit, args.n_iters, args.L2, args.start_lr, args.seed)
    save_image(image, filename)
    print("Saved to %s" % filename)
    if args.save_raw:
        save_raw(filename, image=image, code=code)  # the float32 BGR image and the final code
    if frames_folder:
        save_image(image, os.path.join(frames_folder, "%03d.jpg" % args.n_iters))
    return filename


def visualise(args, loaded):
    """Every unit (or objective) of `args` with the nets loaded; returns what was made for each."""
    params = [{"layer": args.act_layer, "iter_n": args.n_iters, "L2": args.L2,
               "start_step_size": args.start_lr, "end_step_size": args.end_lr}]
    init_code, shape, upper_bound, lower_bound = start_code_and_bounds(args, loaded)
    results = []
    with debug_frames(args) as folder:
        targets = objectives.parse_all(args.objective) if args.objective else args.unit
        for first in range(0, len(targets), args.batch):
            units = targets[first:first + args.batch]
            np.random.seed(args.seed)
            start_code = init_code if init_code is not None else np.random.normal(0, 1, shape)
            images, acts, codes = activation_maximization(
                loaded.classifier, loaded.generator, args.gen_in_layer, args.gen_out_layer, start_code, params, units,
                clip=args.clip, xy=args.xy, upper_bound=upper_bound, lower_bound=lower_bound, debug_dir=folder)
            for b, unit in enumerate(units):
                file = save_output(args, unit, images[b], codes[b:b + 1], folder)
                # the iterations under the names they have once the run's folder is in place
                number, objective = objectives.unit_and_text(unit)
                frames = [Frame(os.path.join(debug_dir(args.output_dir), name), number)
                          for name in sorted(os.listdir(folder))] if folder else []
                results.append(Result(file, number, float(acts[b]), frames, objective))
    return results


run = visualise  # its name in the program interface (prefinput/program.py)


def units_of(args):
    """The unit numbers the run raises: --unit's, or the terms' of --objective's sums."""
    if args.objective:
        return [term.unit for objective in objectives.parse_all(args.objective) for term in objective.terms]
    return list(args.unit)


def output_argv(folder):
    return ["--output_dir", folder]


def output_folder(args):
    return args.output_dir


def scoring(args, size):
    """The classifier scores the final images (of `size`) at --act_layer (and --xy)."""
    return dict(net=(args.net_definition, args.net_weights), layer=args.act_layer, xy=args.xy, panel_size=size,
                act_region=None)


def sweep_problem(args):
    if args.debug:
        return ("--debug 1 would write every point's iterations into the one OUTPUT_DIR/debug: "
                "run act_max.py alone for it")
    return None


def main(argv=None):
    args = parse_args(argv)
    if args.list_blobs:
        return list_blobs(args)
    loaded = load_nets(args)
    print_settings(args, ["objective" if args.objective else "unit", "xy", "n_iters", "L2", "start_lr", "end_lr",
                          "seed", "opt_layer", "act_layer", "init_file", "clip", "bound", "debug", "output_dir",
                          "net_weights", "net_definition"])
    # (after the checks, so a mistake is the one line printed)
    with hold_output_folder(args.output_dir, "--output_dir"):  # one run at a time into a folder
        visualise(args, loaded)


if __name__ == "__main__":
    cli.run(main)
