#!/usr/bin/env python3
"""Synthesize the preferred input of a neuron with a deep generator network
(DGN-AM: Nguyen, Dosovitskiy, Yosinski, Brox & Clune, NIPS 2016), on our Caffe.

Gradient ascent on the code fed to an image generator: the generated image,
cropped to the classifier's input, should highly activate one unit of the
classifier.  The same algorithm, order of operations and float32/float64
arithmetic as the original act_max.py (Evolving-AI-Lab/synthesizing), so it
gives the original's numbers.  Several --unit values run one after another
with the nets loaded once; each starts from the same seed, as separate runs did.
Caffe computes no weight gradients here (the original's nets did, for nothing).
--batch N optimises N units at once, one forward/backward pass for all of them
(faster; see docs/performance.md).
"""
import os
os.environ.setdefault("GLOG_minloglevel", "2")  # suppress Caffe's verbose prints

import argparse
import math
import sys

import numpy as np
from numpy.linalg import norm

from prefinput import actmax, actmax_batch, collage, models, nets
from prefinput.actmax import save_image
from prefinput.cli import UserError, add_setting_flags, run

fc_layers = ["fc6", "fc7", "fc8", "loss3/classifier", "fc1000", "prob"]
conv_layers = ["conv1", "conv2", "conv3", "conv4", "conv5"]


def make_step_generator(net, x, x0, start, end, step_size=1):
    """Backpropagate the classifier's change to the image, x - x0, through the
    generator and step the code along it."""
    src = net.blobs[start]  # the code
    dst = net.blobs[end]    # the generated image

    dst.diff[...] = x - x0
    net.backward(start=end)
    g = src.diff.copy()
    grad_norm = norm(g)
    dst.diff.fill(0.)  # reset the objective after each step

    if math.isnan(grad_norm):  # skip the update
        return 1e-12, src.data[:].copy()
    elif grad_norm == 0:
        return 0, src.data[:].copy()

    src.data[:] += step_size / np.abs(g).mean() * g
    return grad_norm, src.data[:].copy()


def make_step_net(net, end, unit, image, xy=0, step_size=1):
    """Forward `image` through the classifier, backpropagate a one-hot at the
    unit to the image and step the image along it."""
    src = net.blobs["data"]
    dst = net.blobs[end]

    acts = net.forward(data=image, end=end)
    one_hot = np.zeros_like(dst.data)
    if end in fc_layers:
        one_hot.flat[unit] = 1.
    else:
        one_hot[:, unit, xy, xy] = 1.
    dst.diff[:] = one_hot

    diffs = net.backward(start=end, diffs=["data"])
    g = diffs["data"][0]
    grad_norm = norm(g)
    obj_act = 0
    dst.diff.fill(0.)

    if math.isnan(grad_norm):
        return 1e-12, src.data[:].copy(), obj_act
    elif grad_norm == 0:
        return 0, src.data[:].copy(), obj_act

    fc = acts[end][0] if end in fc_layers else acts[end][0, :, xy, xy]
    best_unit = fc.argmax()
    obj_act = fc[unit]
    print("max: %4s [%.2f]\t obj: %4s [%.2f]\t norm: [%.2f]" % (best_unit, fc[best_unit], unit, obj_act, grad_norm))

    src.data[:] += step_size / np.abs(g).mean() * g
    return grad_norm, src.data[:].copy(), obj_act


def activation_maximization(net, generator, gen_in_layer, gen_out_layer, start_code, params,
                            clip=False, debug=False, unit=None, xy=0, upper_bound=None, lower_bound=None,
                            debug_dir="debug"):
    """Optimise the generator's code from `start_code` so that its image raises
    `unit` (at (xy, xy) in conv layers) of `net`; return the last image the
    classifier saw (1x3xHxW, BGR, mean-subtracted)."""
    image_size = net.blobs["data"].data.shape[2:]
    output_size = generator.blobs[gen_out_layer].data.shape[2:]
    # top left of the classifier's input in the generated image (Python 2's integer division)
    top, left = (output_size[0] - image_size[0]) // 2, (output_size[1] - image_size[1]) // 2
    inside = np.s_[:, :, top:top + image_size[0], left:left + image_size[1]]

    print("Starting optimizing")
    src = generator.blobs[gen_in_layer]
    if src.data.shape != start_code.shape:
        raise UserError(f"the start code is {start_code.shape}; {gen_in_layer} takes {src.data.shape}")
    src.data[:] = start_code.copy()[:]

    best_xx = np.zeros(image_size)[np.newaxis]
    best_act = -sys.maxsize
    list_acts = []  # (debug image, activation)

    for o in params:
        layer = o["layer"]
        for i in range(o["iter_n"]):
            step_size = o["start_step_size"] + ((o["end_step_size"] - o["start_step_size"]) * i) / o["iter_n"]

            # 1. the code through the generator gives an image x0
            generator.forward(**{gen_in_layer: src.data[:]})
            x0 = generator.blobs[gen_out_layer].data
            cropped_x0 = x0.copy()[inside]

            # 2-3. the classifier's gradient at the unit moves the image to x
            grad_norm_net, x, act = make_step_net(net, end=layer, unit=unit, image=cropped_x0, xy=xy,
                                                  step_size=step_size)
            # the latest image, not the most activating one: activation
            # and recognizability are not correlated
            best_xx = cropped_x0.copy()
            best_act = act

            # 4. x back into the generated image, 5. through the generator into the code
            updated_x0 = x0.copy()
            updated_x0[inside] = x.copy()
            grad_norm_generator, updated_code = make_step_generator(generator, x=updated_x0, x0=x0, start=gen_in_layer,
                                                                    end=gen_out_layer, step_size=step_size)
            if clip:
                updated_code = np.clip(updated_code, a_min=-1, a_max=1)
            elif upper_bound is not None:  # each code unit within its own range
                updated_code = np.maximum(updated_code, lower_bound)
                updated_code = np.minimum(updated_code, upper_bound)
            if 0 < o["L2"] < 1:  # L2 decay of the code
                updated_code[:] *= o["L2"]
            src.data[:] = updated_code

            if debug:
                print(" > %s " % i)
                name = os.path.join(debug_dir, "%03d.jpg" % i)
                save_image(x.copy(), name)
                list_acts.append((name, act))

            if grad_norm_generator == 0:
                print(" grad_norm_generator is 0")
                break
            elif grad_norm_net == 0:
                print(" grad_norm_net is 0")
                break

    print(" -------------------------")
    print(" Result: obj act [%s] " % best_act)
    if debug:
        print("Saving list of activations...")
        for name, act in list_acts:
            collage.label_below(name, "%.2f" % act)
    return best_xx


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--unit", type=int, nargs="+", required=True, help="unit(s) to visualize, e.g. 945")
    parser.add_argument("--n_iters", type=int, default=10, help="number of iterations")
    parser.add_argument("--L2", type=float, default=1.0, help="L2 decay of the code (used when in (0, 1))")
    parser.add_argument("--start_lr", type=float, default=2.0, help="learning rate")
    parser.add_argument("--end_lr", type=float, default=-1.0, help="ending learning rate (< 0: start_lr)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the start code")
    parser.add_argument("--xy", type=int, default=0, help="spatial position (xy, xy) of a conv unit")
    parser.add_argument("--opt_layer", help="encoder layer giving the start code of --init_file, e.g. fc6")
    parser.add_argument("--act_layer", default="fc8", help="layer of the unit to activate")
    parser.add_argument("--init_file", default="None", help="start from this image's code instead of noise")
    parser.add_argument("--debug", type=int, default=0, help="1: save every iteration's image to OUTPUT_DIR/debug")
    parser.add_argument("--clip", type=int, default=0, help="1: clip the code to [-1, 1]")
    parser.add_argument("--bound", default="", help="file of the upper bound of each code unit (lower: 0)")
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

    example = parser.add_argument_group("the example scripts' post-processing")
    example.add_argument("--labels", choices=["unit", "synset", "places"], help="label each image with its unit")
    example.add_argument("--label_file", help="the label file of --labels synset or places")
    example.add_argument("--crop", type=actmax.parse_crop, help="crop each image to WxH+X+Y first")
    example.add_argument("--collage", help="tile the images (with --debug 1: the iterations) into this file")
    example.add_argument("--tile", type=actmax.parse_tile, default=(5, 1), help="collage COLUMNSxROWS")
    args = parser.parse_args(argv)
    if args.end_lr < 0:  # default to a constant learning rate
        args.end_lr = args.start_lr
    if args.n_iters < 1:
        parser.error("--n_iters must be at least 1")
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    if args.batch > 1 and args.debug:
        parser.error("--debug 1 saves one unit's iterations: use it with --batch 1")
    if args.labels in ("synset", "places") and not args.label_file:
        parser.error(f"--labels {args.labels} needs --label_file")
    if args.init_file != "None" and not args.opt_layer:
        parser.error("--init_file needs --opt_layer, the encoder layer that gives the code (e.g. fc6)")
    return args


def needed_files(args):
    """The models and data files this run reads (fetched first when missing)."""
    files = [args.net_definition, args.net_weights, args.generator_definition, args.generator_weights]
    if args.init_file != "None":
        files += [args.encoder_definition, args.encoder_weights, args.mean_file_mat, args.init_file]
    return files + [path for path in (args.label_file, args.bound) if path]


def print_settings(args):
    print("-------------")
    for name in ["unit", "xy", "n_iters", "L2", "start_lr", "end_lr", "seed", "opt_layer", "act_layer",
                 "init_file", "clip", "bound", "debug", "output_dir", "net_weights", "net_definition"]:
        print(" %s: %s" % (name, getattr(args, name)))
    print("-------------")


def save_output(args, unit, output_image, code):
    """The unit's image under the original's name (and with --save_raw its
    arrays, with --debug the last iteration's image); return the name."""
    filename = actmax.output_name(args.output_dir, args.act_layer, unit, args.n_iters, args.L2,
                                  args.start_lr, args.seed)
    save_image(output_image, filename)
    print("Saved to %s" % filename)
    if args.save_raw:
        actmax.save_raw(filename, output_image, code)
    if args.debug:
        save_image(output_image, os.path.join(actmax.debug_dir(args.output_dir), "%03d.jpg" % args.n_iters))
    return filename


def main(argv=None):
    args = parse_args(argv)
    params = [{"layer": args.act_layer, "iter_n": args.n_iters, "L2": args.L2,
               "start_step_size": args.start_lr, "end_step_size": args.end_lr}]

    from_image = args.init_file != "None"
    models.require(needed_files(args), offline=args.offline)
    generator = nets.load(args.generator_definition, args.generator_weights, weight_gradients=False)
    net = nets.classifier(args.net_definition, args.net_weights, mean=actmax.MEAN, channel_swap=(2, 1, 0),
                          weight_gradients=False)
    shape = generator.blobs[args.gen_in_layer].data.shape  # of the code being optimised
    for unit in args.unit:
        actmax.check_unit(net, args.act_layer, unit, args.xy, fc_layers, conv_layers)
    print_settings(args)  # after the checks, so a mistake is the one line printed

    if from_image:
        encoder = nets.load(args.encoder_definition, args.encoder_weights)
        init_code, _ = actmax.get_code(args.init_file, args.opt_layer, encoder, args.mean_file_mat)
        print("Loaded start code: ", init_code.shape)
    upper_bound = lower_bound = None
    if args.bound != "":
        upper_bound, lower_bound = actmax.load_bound(args.bound, init_code.shape if from_image else shape)

    if args.debug:
        actmax.clear_debug_dir(args.output_dir)
    files = []
    for first in range(0, len(args.unit), args.batch):
        units = args.unit[first:first + args.batch]
        np.random.seed(args.seed)
        start_code = init_code if from_image else np.random.normal(0, 1, shape)
        if args.batch == 1:
            output_image = activation_maximization(net, generator, args.gen_in_layer, args.gen_out_layer,
                                                   start_code, params, clip=args.clip, unit=units[0], xy=args.xy,
                                                   debug=args.debug, upper_bound=upper_bound,
                                                   lower_bound=lower_bound, debug_dir=actmax.debug_dir(args.output_dir))
            results = [(output_image, generator.blobs[args.gen_in_layer].data.copy())]
        else:
            images, codes = actmax_batch.activation_maximization_batch(
                net, generator, args.gen_in_layer, args.gen_out_layer, start_code, params, units, fc_layers,
                clip=args.clip, xy=args.xy, upper_bound=upper_bound, lower_bound=lower_bound)
            results = [(image, codes[i:i + 1]) for i, image in enumerate(images)]
        files += [save_output(args, unit, image, code) for unit, (image, code) in zip(units, results)]

    if args.crop or args.labels or args.collage:
        actmax.finish_example(files, args.unit, net.blobs["data"].data.shape[2:], args)


if __name__ == "__main__":
    run(main)
