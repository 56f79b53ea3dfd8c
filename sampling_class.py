#!/usr/bin/env python3
"""PPGN sampling conditioned on a class (an output unit) or a hidden unit of
an image classifier, optionally starting from a real image (--init_file) or
filling a hole in it (--epsilon4 > 0, inpainting).

    ./sampling_class.py --units 945 --act_layer fc8 --n_iters 200 --lr 1 \\
        --epsilon1 1e-5 --epsilon3 1e-17 --save_every 5 --output_dir output
"""
import os
from dataclasses import replace

os.environ.setdefault('GLOG_minloglevel', '2')  # quiet Caffe

import prefinput  # noqa: F401  first, before numpy loads: the goldens' numbers on every CPU (prefinput/cpu.py)
import numpy as np
from numpy.linalg import norm

from ppgn import chains, codes, masks, options
from prefinput import cli, objectives
from prefinput.cli import FiniteFloat, add_setting_flags, check_labels, print_settings
from prefinput.errors import UserError
from prefinput.files import check_name, check_regular_file, hold_output_folder
from prefinput.netdefs import loading
from prefinput.program import Loaded, Units
from prefinput.registry import fetching
from prefinput.steps import check_covers, check_unit, image_size, input_blob, unit_index, unit_values
from sampler import Sampler, sampling_settings, save_results

# The program interface (prefinput/program.py): one chain a unit (946_629: one after another) or sum of units;
# each chain its own folder (their samples/ would collide)
UNITS = (Units("units", layer_flag="act_layer", folder_per_unit=True),
         Units("objective", numbered=False, folder_per_unit=True))
NET_FLAGS = options.NET_FLAGS


class ClassConditionalSampler(Sampler):

    def __init__(self, synset_file):
        """Labels from the `synset_file` (None: by unit number)."""
        self.class_names = read_class_names(synset_file) if synset_file else []

    def forward_backward_from_x_to_condition(self, net, end, image, condition):
        """The gradient of the condition at `image`: of a unit's log softmax
        (below), or of an objective's weighted sum of them (log_softmax_sum)."""
        if condition.get('objective'):
            return log_softmax_sum(net, image, condition['objective'])
        return self.unit_log_softmax(net, end, image, condition)

    def unit_log_softmax(self, net, end, image, condition):
        """Forward `image` to blob `end` of the classifier, and backward the
        gradient of log softmax(unit) over the blob's units (at xy where the
        blob is spatial) to the image."""
        unit = condition['unit']
        xy = condition['xy']
        data = input_blob(net)
        dst = net.blobs[end]

        net.forward(**{data: image}, end=loading.layer_of(net, end))
        one_hot = np.zeros_like(dst.data)
        layer_acts = unit_values(dst.data[0], xy)

        best_unit = layer_acts.argmax()

        probs = softmax(layer_acts)

        # d log softmax(unit) / d acts[unit]
        softmax_grad = 1 - probs.copy()
        obj_prob = probs.flat[unit]

        one_hot[0][unit_index(dst.data.shape, unit, xy)] = softmax_grad[unit]
        dst.diff[:] = one_hot

        diffs = net.backward(start=loading.layer_of(net, end), diffs=[data])
        g = diffs[data].copy()
        dst.diff.fill(0.)  # reset the objective after each step

        info = {'best_unit': best_unit, 'best_unit_prob': probs.flat[best_unit]}
        return g, obj_prob, info

    def get_label(self, condition):
        if condition.get('objective'):
            return objective_label(condition['objective'], self.class_names)
        return self.class_names[condition['unit']] if self.class_names else str(condition['unit'])

    def print_progress(self, i, info, condition, prob, grad):
        print("step: %04d\t max: %4s [%.2f]\t obj: %4s [%.2f]\t norm: [%.2f]" % (
            i, info['best_unit'], info['best_unit_prob'], condition['objective'].label if condition.get('objective')
            else condition['unit'], prob, norm(grad)))


def softmax(acts):
    """The original's softmax by hand (so that hidden units can be conditioned on too)."""
    exp_acts = np.exp(acts - np.max(acts))
    return exp_acts / (1e-10 + np.sum(exp_acts, keepdims=True))


def log_softmax_sum(net, image, objective):
    """The condition of an objective: the weighted sum of each term's log
    softmax over its blob's units (read as the term reads its unit); the
    gradient, as for one unit, through each unit alone (1 - p).  Returns the
    image gradient, exp of the sum (the product of the probabilities to their
    weights, which --threshold compares with; one term: the unit's
    probability) and the progress line's max."""
    data = input_blob(net)
    points = objectives.forward(net, [objective], **{data: image})
    steps, prob = [], 1.
    for term in objective.terms:
        probs = softmax(term.unit_values(points[term.name][0]))
        steps.append(replace(term, weight=term.weight * (1 - probs.flat[term.unit])))
        prob *= probs.flat[term.unit] ** term.weight
    first = softmax(objective.unit_values(points, 0))
    info = {'best_unit': first.argmax(), 'best_unit_prob': first.max()}
    g = objectives.backward(net, [objectives.Objective(steps)], diffs=[data])[data].copy()
    return g, prob, info


def objective_label(objective, class_names):
    """'volcano + candle': the terms' class names (or blob:unit where there is none) with their signs."""
    return objective.named(lambda term: class_names[term.unit] if term.unit < len(class_names) else None)


def read_class_names(synset_file):
    """'n01440764 tench, Tinca tinca' -> 'tench', one per line; one line
    (naming --synset_file) unless the file is text."""
    try:
        with open(synset_file, 'r') as f:
            lines = f.readlines()
    except UnicodeDecodeError:
        lines = None
    if lines is None or any('\0' in line for line in lines):
        raise UserError(f"--synset_file {synset_file}: a binary file, not text; give a label file with a line per "
                        "unit, e.g. synset_words.txt")
    return [line.split(",")[0].split(" ", 1)[-1].rstrip('\n') for line in lines]


def parse_args(argv=None):
    parser = options.sampling_parser(__doc__.split("\n\n")[0])
    parser.add_argument('--units', '--unit', metavar='units', type=str,
                        help="units to condition on, one after another, e.g. 945 or 946_629")
    parser.add_argument('--objective', nargs='+', metavar='SUM',
                        help='instead of --units, a weighted sum of units to condition on (the sum of their log '
                             'probabilities), e.g. "fc8:980 + fc8:470"; several: one after another (docs/ppgn.md)')
    parser.add_argument('--epsilon4', metavar='lr', action=FiniteFloat, default=0.0, nargs='?',
                        help='Context (inpainting; needs --init_file)')
    add_setting_flags(parser, ['synset_file'])
    parser.add_argument('--list_blobs', action='store_true',
                        help="print the condition net's blobs (what --act_layer and --objective name) with their "
                             "shapes, and exit")
    args = options.parse(parser, argv)
    if args.list_blobs:
        return args
    if not args.units and not args.objective:
        raise UserError("--units is required: one unit or several joined by _, e.g. --units 945 (or --objective "
                        "\"fc8:980 + fc8:470\")")
    if args.units and args.objective:
        raise UserError("--units and --objective both say what to condition on: give one of them")
    if args.objective:
        objectives.parse_all(args.objective)  # a malformed sum is one line before any file is read
    if args.epsilon4 > 0 and not args.init_file:
        raise UserError("inpainting (--epsilon4 > 0) needs an image: give --init_file")
    return args


def needed_files(args):
    return [args.net_definition, args.net_weights] + options.image_net_files(
        args.encoder_definition, args.encoder_weights, args.generator_definition, args.generator_weights,
        args.init_file, args.mean_file_mat)


def load_nets(args):
    """The condition net (the classifier, no weight gradients), the encoder
    and the generator, every file fetched first and the blobs named checked."""
    fetching.require(needed_files(args), offline=args.offline)
    names = [term.name for objective in objectives.parse_all(args.objective) for term in objective.terms] \
        if args.objective else [args.act_layer]
    net = loading.load(args.net_definition, args.net_weights, weight_gradients=False,
                       **loading.layer_outputs(args.net_definition, names))
    encoder, generator = codes.load_image_nets(args.encoder_definition, args.encoder_weights,
                                               args.generator_definition, args.generator_weights,
                                               args.gen_in_layer, args.gen_out_layer, args.opt_layer,
                                               init_file=args.init_file)
    check_covers(generator, args.gen_out_layer, net, 'the condition net')
    loaded = Loaded(classifier=net, encoder=encoder, generator=generator)
    check_units(args, loaded)
    return loaded


def check_units(args, loaded):
    parse_conditions(args, loaded.classifier)


def label_file(args, conditions):
    """The synset file, where it names every unit conditioned on; else None,
    said once: the kept samples are labelled by unit number (a net of your
    own needs no label file)."""
    units = []
    for condition in conditions:
        units += [term.unit for term in condition['objective'].terms] if condition.get('objective') \
            else [condition['unit']]
    if os.path.exists(args.synset_file):
        check_regular_file(args.synset_file)  # a FIFO or a folder is a mistake, not a missing label file
    try:
        fetching.require([args.synset_file], offline=args.offline)
    except UserError as why:
        return unlabelled(why)
    class_names = read_class_names(args.synset_file)  # a binary file is a mistake, not a missing label file
    try:
        check_labels('--synset_file', args.synset_file, class_names, units)
    except UserError as why:
        return unlabelled(why)
    return args.synset_file


def unlabelled(why):
    print(f"Labels by unit number: {why}")


def parse_conditions(args, net):
    """--units 946_629 -> one condition per unit, checked against the net
    (--objective: one per sum)."""
    if args.objective:
        conditions = objectives.parse_all(args.objective)
        for objective in conditions:
            objective.check(net)
        return [{"objective": objective, "unit": objectives.unit_and_text(objective)[0], "xy": args.xy}
                for objective in conditions]
    try:
        units = [int(u) for u in args.units.split("_")]
    except ValueError:
        raise UserError(f"--units {args.units}: expected numbers joined by _, e.g. 946_629") from None
    for unit in units:
        check_unit(net, args.act_layer, unit, args.xy)
    loading.layer_of(net, args.act_layer)  # a blob the net computes, not its input
    return [{"unit": unit, "xy": args.xy} for unit in units]


def start_from(args, encoder, generator):
    """The start code, and the inpainting settings when --epsilon4 > 0."""
    if not args.init_file:
        start_code = codes.normal_code(generator, args.gen_in_layer)
        print(">>", np.min(start_code), np.max(start_code))
        return start_code, None

    mask = neg = None
    if args.epsilon4 > 0:
        mask, neg = masks.get_mask((3,) + tuple(image_size(encoder)))
    start_code, start_image = codes.encode_image(encoder, args.init_file, args.opt_layer, args.mean_file_mat, mask=neg)
    print("Loaded init code: ", start_code.shape)
    if args.epsilon4 <= 0:
        return start_code, None
    return start_code, {"mask": mask, "mask_neg": neg, "image": start_image, "epsilon4": args.epsilon4}


def output_name(args, condition):
    """The original's file name for the chain's final image (a sum's names its terms)."""
    subject = condition["objective"].slug() if args.objective else "%s_%04d" % (args.act_layer, condition["unit"])
    return "%s/%s_%04d_%s_h_%s_%s_%s_%s__%s.jpg" % (
        args.output_dir, subject, args.n_iters, args.lr,
        args.epsilon1, args.epsilon2, args.epsilon3, args.epsilon4, args.seed)


def sample(args, loaded):
    """One chain with the nets already loaded; returns what it made (a Result)."""
    net, encoder, generator = loaded.classifier, loaded.encoder, loaded.generator
    conditions = parse_conditions(args, net)
    sampler = ClassConditionalSampler(label_file(args, conditions) if args.save_every > 0 else None)
    if args.epsilon4 > 0 and image_size(net) != image_size(encoder):
        raise UserError("inpainting needs the condition net and the encoder to take the same image size")

    filename = output_name(args, conditions[0])
    check_name(filename, "the output file")  # before the chain, not after it

    np.random.seed(args.seed)
    start_code, inpainting = start_from(args, encoder, generator)

    with chains.kept_samples(args.output_dir, args.save_every, args.write_labels, args.save_raw) as chain:
        output_image, list_samples = sampler.sampling(
            condition_net=net, image_encoder=encoder, image_generator=generator, start_code=start_code,
            conditions=conditions, inpainting=inpainting, chain=chain, **sampling_settings(args))

        shown = output_image if inpainting is None else masks.stitch(inpainting["image"], output_image)
        return save_results(args, filename, shown, output_image, list_samples, conditions[-1]["unit"],
                            objectives.unit_and_text(conditions[-1]["objective"])[1] if args.objective else None)


def run(args, loaded):
    """The program interface's run (prefinput/program.py): the chain's Result."""
    return [sample(args, loaded)]


def units_of(args):
    """The unit numbers conditioned on: --units', or the terms' of --objective's sums."""
    if args.objective:
        return [term.unit for objective in objectives.parse_all(args.objective) for term in objective.terms]
    return [int(u) for u in args.units.split("_") if u.isdigit()]  # anything else: parse_conditions' one line


output_argv, output_folder, sweep_problem = options.output_argv, options.output_folder, options.sweep_problem


def scoring(args, size):
    """The condition net scores the final images (of `size`) at --act_layer (and --xy); an inpainting's
    is the masked image beside the filled one, and the net scores the filled one."""
    panel_size, act_region = size, None
    if args.epsilon4 > 0:
        panel_size, act_region = (size[0], 2 * size[1] + 1), [0, size[1] + 1, size[0], size[1]]
    return dict(net=(args.net_definition, args.net_weights), layer=args.act_layer, xy=args.xy,
                panel_size=panel_size, act_region=act_region)


def main(argv=None):
    args = parse_args(argv)
    if args.list_blobs:
        fetching.require([args.net_definition], offline=args.offline)
        return print(loading.blob_list(loading.load(args.net_definition)))
    loaded = load_nets(args)  # first, so that a mistake stops the program in one line
    print_settings(args, ['objective' if args.objective else 'units', 'xy', 'n_iters', 'reset_every', 'save_every',
                          'threshold',
                          'epsilon1', 'epsilon2', 'epsilon3', 'epsilon4', 'lr', 'lr_end', 'seed',
                          'opt_layer', 'act_layer', 'init_file', 'output_dir',
                          'net_weights', 'net_definition'])
    with hold_output_folder(args.output_dir, "--output_dir"):  # one chain at a time into a folder (its samples/)
        sample(args, loaded)


if __name__ == '__main__':
    cli.run(main)
