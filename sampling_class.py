#!/usr/bin/env python3
"""PPGN sampling conditioned on a class (an output unit) or a hidden unit of
an image classifier, optionally starting from a real image (--init_file) or
filling a hole in it (--epsilon4 > 0, inpainting).

    ./sampling_class.py --units 945 --act_layer fc8 --n_iters 200 --lr 1 \\
        --epsilon1 1e-5 --epsilon3 1e-17 --save_every 5 --output_dir output
"""
import os

os.environ.setdefault('GLOG_minloglevel', '2')  # quiet Caffe

import numpy as np
from numpy.linalg import norm

from prefinput import models, ppgn
from prefinput.cli import UserError, add_setting_flags, run
from sampler import Sampler


class ClassConditionalSampler(Sampler):

    def __init__(self, synset_file):
        self.class_names = read_class_names(synset_file)

        # The layers the original was tested on
        self.fc_layers = ["fc6", "fc7", "fc8", "loss3/classifier", "fc1000", "prob"]
        self.conv_layers = ["conv1", "conv2", "conv3", "conv4", "conv5"]

    def forward_backward_from_x_to_condition(self, net, end, image, condition):
        """Forward `image` to layer `end` of the classifier, and backward the
        gradient of log softmax(unit) over the layer's units (at xy for conv
        layers) to the image."""
        unit = condition['unit']
        xy = condition['xy']
        dst = net.blobs[end]

        acts = net.forward(data=image, end=end)
        one_hot = np.zeros_like(dst.data)

        if end in self.fc_layers:
            layer_acts = acts[end][0]
        elif end in self.conv_layers:
            layer_acts = acts[end][0, :, xy, xy]
        else:
            raise UserError(f"--act_layer {end}: the sampler knows fc layers {self.fc_layers} "
                            f"and conv layers {self.conv_layers}")

        best_unit = layer_acts.argmax()

        # Softmax by hand, so that hidden units can be conditioned on too
        exp_acts = np.exp(layer_acts - np.max(layer_acts))
        probs = exp_acts / (1e-10 + np.sum(exp_acts, keepdims=True))

        # d log softmax(unit) / d acts[unit]
        softmax_grad = 1 - probs.copy()
        obj_prob = probs.flat[unit]

        if end in self.fc_layers:
            one_hot.flat[unit] = softmax_grad[unit]
        else:
            one_hot[:, unit, xy, xy] = softmax_grad[unit]
        dst.diff[:] = one_hot

        diffs = net.backward(start=end, diffs=['data'])
        g = diffs['data'].copy()
        dst.diff.fill(0.)  # reset the objective after each step

        info = {'best_unit': best_unit, 'best_unit_prob': probs.flat[best_unit]}
        return g, obj_prob, info

    def get_label(self, condition):
        return self.class_names[condition['unit']]

    def print_progress(self, i, info, condition, prob, grad):
        print("step: %04d\t max: %4s [%.2f]\t obj: %4s [%.2f]\t norm: [%.2f]" % (
            i, info['best_unit'], info['best_unit_prob'], condition['unit'], prob, norm(grad)))


def read_class_names(synset_file):
    """'n01440764 tench, Tinca tinca' -> 'tench', one per line."""
    with open(synset_file, 'r') as f:
        return [line.split(",")[0].split(" ", 1)[-1].rstrip('\n') for line in f.readlines()]


def parse_args(argv=None):
    parser = ppgn.sampling_parser(__doc__.split("\n\n")[0])
    parser.add_argument('--units', '--unit', metavar='units', type=str,
                        help="units to condition on, one after another, e.g. 945 or 946_629")
    parser.add_argument('--epsilon4', metavar='lr', type=float, default=0.0, nargs='?',
                        help='Context (inpainting; needs --init_file)')
    add_setting_flags(parser, ['synset_file'])
    args = ppgn.finish_args(parser.parse_args(argv))
    if not args.units:
        raise UserError("--units is required: one unit or several joined by _, e.g. --units 945")
    if args.epsilon4 > 0 and args.init_file == "None":
        raise UserError("inpainting (--epsilon4 > 0) needs an image: give --init_file")
    return args


def load_nets(args):
    """The condition net (the classifier, no weight gradients), the encoder
    and the generator."""
    models.require([args.synset_file] + ppgn.start_files(args), offline=args.offline)
    net = ppgn.load_net(args.net_definition, args.net_weights, args.offline, weight_gradients=False)
    encoder, generator = ppgn.load_image_nets(args)
    return net, encoder, generator


def parse_conditions(args, net):
    """--units 946_629 -> one condition per unit, checked against the net."""
    if args.act_layer not in net.blobs:
        raise UserError(f"--act_layer {args.act_layer}: no such layer in the condition net")
    shape = net.blobs[args.act_layer].data.shape
    try:
        units = [int(u) for u in args.units.split("_")]
    except ValueError:
        raise UserError(f"--units {args.units}: expected numbers joined by _, e.g. 946_629") from None
    for unit in units:
        if not 0 <= unit < shape[1]:
            raise UserError(f"unit {unit} is out of range: {args.act_layer} has {shape[1]} units")
    if len(shape) == 4 and not 0 <= args.xy < min(shape[2:]):
        raise UserError(f"--xy {args.xy} is outside {args.act_layer}'s {shape[2]}x{shape[3]} grid")
    return [{"unit": unit, "xy": args.xy} for unit in units]


def start_from(args, encoder, generator):
    """The start code, and the inpainting settings when --epsilon4 > 0."""
    if args.init_file == "None":
        start_code = ppgn.random_code(generator, args.gen_in_layer)
        print(">>", np.min(start_code), np.max(start_code))
        return start_code, None

    mask = neg = None
    if args.epsilon4 > 0:
        mask, neg = ppgn.get_mask(encoder.blobs['data'].data.shape[1:])
    start_code, start_image = ppgn.encode_image(encoder, args.init_file, args.opt_layer, args.mean_file_mat, mask=neg)
    print("Loaded init code: ", start_code.shape)
    if args.epsilon4 <= 0:
        return start_code, None
    return start_code, {"mask": mask, "mask_neg": neg, "image": start_image, "epsilon4": args.epsilon4}


def sample(args, nets):
    """One chain with the nets already loaded; returns the final image's path."""
    net, encoder, generator = nets
    conditions = parse_conditions(args, net)
    sampler = ClassConditionalSampler(args.synset_file)
    if args.epsilon4 > 0 and ppgn.image_size(net) != ppgn.image_size(encoder):
        raise UserError("inpainting needs the condition net and the encoder to take the same image size")

    np.random.seed(args.seed)
    start_code, inpainting = start_from(args, encoder, generator)

    output_image, list_samples = sampler.sampling(
        condition_net=net, image_encoder=encoder, image_generator=generator, start_code=start_code,
        conditions=conditions, inpainting=inpainting, **ppgn.sampling_settings(args))

    filename = "%s/%s_%04d_%04d_%s_h_%s_%s_%s_%s__%s.jpg" % (
        args.output_dir, args.act_layer, conditions[0]["unit"], args.n_iters, args.lr,
        args.epsilon1, args.epsilon2, args.epsilon3, args.epsilon4, args.seed)
    shown = output_image if inpainting is None else ppgn.stitch(inpainting["image"], output_image)
    ppgn.save_results(args, filename, shown, output_image, list_samples)
    return filename


def main(argv=None):
    args = parse_args(argv)
    nets = load_nets(args)  # first, so that a missing file stops the program in one line
    ppgn.print_summary(args, ['units', 'xy', 'n_iters', 'reset_every', 'save_every', 'threshold',
                              'epsilon1', 'epsilon2', 'epsilon3', 'epsilon4', 'lr', 'lr_end', 'seed',
                              'opt_layer', 'act_layer', 'init_file', 'output_dir',
                              'net_weights', 'net_definition'])
    sample(args, nets)


if __name__ == '__main__':
    run(main)
