#!/usr/bin/env python3
"""cnn-vis (Justin Johnson, 2015): Inceptionism-style images from a Caffe CNN.

Gradient ascent on the image for one of two objectives (amplify a whole
layer, or one neuron), with p-norm and total-variation regularisers and
RMSProp steps.  Large images are tiled with overlapping input-sized regions
in two interleaved sets; after num_steps the image is zoomed to the next
size of the multiscale schedule and tiled again.

Same flags and defaults as the original, plus --seed and --save_raw; see
docs/cnn-vis.md.  Example: examples/cnn-vis/example1.sh.
"""
import argparse
import math
import os
import re

os.environ.setdefault('GLOG_minloglevel', '2')  # quiet Caffe: a mistake stays one line

import prefinput  # noqa: F401  first, before numpy loads: the goldens' numbers on every CPU (prefinput/cpu.py)
import numpy as np

from cnnvis.gradients import amplify_layer, amplify_neuron, cnn_grads, rmsprop
from cnnvis.output import PixelHistory, print_progress, pyplot, show_image
from cnnvis.pixels import img_to_uint, load_initial_image, noise_image, resize_img
from cnnvis.regularisers import p_norm, scaled_tv_norm
from cnnvis.tiling import count_regions_per_pixel, get_regions, get_size_sequence, parse_size
from prefinput import cli, objectives
from prefinput.cli import ArgumentParser, FiniteFloat, Seed, help_epilog
from prefinput.environment import setting
from prefinput.errors import UserError
from prefinput.files import check_output_file, clean_stale, save_raw
from prefinput.image import MAX_PIXELS, imread, imsave, read_rgb, writable_extensions
from prefinput.netdefs import loading, modelcheck
from prefinput.program import Loaded, Units
from prefinput.registry import fetching
from prefinput.results import Result
from prefinput.steps import check_finite, image_size, input_blob

REGULARIZERS = ('p', 'p_aux', 'tv')
ITER_BEHAVIORS = ('save', 'print', 'show', 'plot_pix')  # what happens every --output_iter steps

# The program interface (prefinput/program.py): a neuron of --target_layer, or a sum of units; each
# image in a folder of its own (--output_file names none of them)
UNITS = (Units('target_neuron', layer_flag='target_layer', folder_per_unit=True,
               before=('--image_type', 'amplify_neuron')),
         Units('objective', numbered=False, folder_per_unit=True))
NET_FLAGS = ('target_layer', 'image_type', 'batch_size', 'gpu')


def size_flag(text):
    """A size: 'HxW' in pixels or 'xF', F times the base size."""
    if not re.fullmatch(r'\d+x\d+|x\d*\.?\d+(e-?\d+)?', text):
        raise argparse.ArgumentTypeError("%r is not a size: give HxW (e.g. 600x800) or xF "
                                         "(e.g. x0.5)" % text)
    return text


# The variables the file flags' defaults come from, and those files under NETS_DIR.
NET_FILES = {'DEPLOY_TXT': ('googlenet', 'deploy.prototxt'),
             'CAFFE_MODEL': ('googlenet', 'bvlc_googlenet.caffemodel')}


def net_path(variable):
    """The environment variable's value, else its file under the nets directory."""
    return os.environ.get(variable) or os.path.join(setting('nets_dir'), *NET_FILES[variable])


def build_parser():
    parser = ArgumentParser(description=__doc__.split('\n\n')[0],
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add = parser.add_argument
    # CNN options
    add('--deploy_txt', default=net_path('DEPLOY_TXT'), help='the CNN\'s definition (environment: DEPLOY_TXT)')
    add('--caffe_model', default=net_path('CAFFE_MODEL'), help='its weights (environment: CAFFE_MODEL)')
    add('--batch_size', default=1, type=int, help='regions (tiles) computed in one forward/backward pass')
    add('--mean_image', default=os.environ.get('MEAN_IMAGE') or setting('mean_file_npy'),
        help='the mean image, .npy (environment: MEAN_IMAGE)')
    add('--gpu', type=int, default=None,
        help='GPU device, or a negative number for the CPU (None: settings.gpu, environment GPU=1, on device 0)')
    # Image options
    add('--image_type', default='amplify_layer', choices=['amplify_layer', 'amplify_neuron'],
        help='amplify a whole layer, or one neuron (channel) of it')
    add('--target_layer', default='inception_4d/3x3_reduce', help='the blob to amplify')
    add('--target_neuron', default=0, type=int, help='the channel to amplify (amplify_neuron)')
    add('--objective', default=None, metavar='SUM',
        help='instead of --image_type, raise a weighted sum of units, e.g. "fc8:980 + fc8:470" (conv5:196@6,6: at '
             'a position; conv5:196: a channel\'s mean; fc8:980 - 0.5*fc8:437); see docs/cnn-vis.md')
    # Initialization options
    add('--initial_image', default=None, help='start from this image (None: noise)')
    add('--initialization_scale', action=FiniteFloat, default=1.0, help='scale of the start noise')
    add('--initialization_blur', action=FiniteFloat, default=0.0, help='Gaussian blur (sigma) of the start noise')
    # Resize options
    add('--initial_size', default=None, type=size_flag,
        help='first size, HxW or xF (F times the base size: the net\'s input or the initial image)')
    add('--final_size', default=None, type=size_flag, help='last size, HxW or xF')
    add('--num_sizes', default=1, type=int, help='sizes from initial to final')
    add('--resize_type', default='geometric', choices=['geometric', 'linear'], help='how the sizes are spaced')
    # Optimization options
    add('--learning_rate', action=FiniteFloat, default=1.0, help='RMSProp step size')
    add('--decay_rate', action=FiniteFloat, default=0.95, help='RMSProp decay of the squared gradients\' cache')
    add('--learning_rate_decay_iter', type=int, default=100, help='scale the step size every N steps')
    add('--learning_rate_decay_fraction', action=FiniteFloat, default=1.0, help='by this factor')
    add('--num_steps', type=int, default=1000, help='steps at each size')
    add('--use_pixel_learning_rates', action='store_true',
        help='divide each pixel\'s step by how many regions cover it')
    # Options for layer amplification
    add('--amplify_l1_weight', action=FiniteFloat, default=1.0, help='weight of the layer\'s L1 norm')
    add('--amplify_l2_weight', action=FiniteFloat, default=1.0, help='weight of the layer\'s L2 norm')
    add('--amplify_grad_clip', action=FiniteFloat, default=5.0, help='clip the layer\'s gradient to +-this')
    # P-norm regularization options
    add('--alpha', action=FiniteFloat, default=6.0, help='p of the p-norm regulariser')
    add('--p_scale', action=FiniteFloat, default=1.0, help='its scale')
    add('--p_reg', action=FiniteFloat, default=1e-4, help='its weight')
    # Auxiliary P-norm regularization options
    add('--alpha_aux', action=FiniteFloat, default=6.0, help='p of the auxiliary p-norm (towards zero)')
    add('--p_scale_aux', action=FiniteFloat, default=1.0, help='its scale')
    add('--p_reg_aux', action=FiniteFloat, default=0.0, help='its weight')
    # TV regularization options
    add('--beta', action=FiniteFloat, default=2.0, help='exponent of the total-variation regulariser')
    add('--tv_reg', action=FiniteFloat, default=0.5, help='its weight')
    add('--tv_reg_scale', action=FiniteFloat, default=1.0, help='its scale')
    add('--tv_reg_step', action=FiniteFloat, default=0.0, help='added to its weight every --tv_reg_step_iter steps')
    add('--tv_reg_step_iter', type=int, default=50, help='steps between those increases')
    add('--tv_grad_operator', default='naive', choices=['naive', 'sobel', 'sobel_squish'],
        help='the image gradient the TV norm uses')
    # Output options
    add('--output_file', default='out.png', help='the result image')
    add('--output_iter', default=50, type=int, help='do --iter_behavior every N steps')
    add('--show_width', default=5, type=int, help='width of the show window, inches')
    add('--show_height', default=5, type=int, help='height of the show window, inches')
    add('--rescale_image', action='store_true', help='stretch the result to the full 0..255 range')
    add('--iter_behavior', default='save+print',
        help='what every --output_iter steps does, joined by +: %s' % ', '.join(ITER_BEHAVIORS))
    # Beyond the original
    add('--seed', action=Seed, default=None, help='seed numpy.random (the noise of the start image) first')
    add('--save_raw', action='store_true',
        help='also write <output_file minus extension>.npz with the float image and the saved uint8 array')
    add('--list_blobs', action='store_true', help='print the net\'s blobs with their shapes, and exit')
    parser.epilog = help_epilog(list(NET_FILES) + ['MEAN_IMAGE'],
                                [parser.get_default(name) for name in ('deploy_txt', 'caffe_model', 'mean_image')])
    modelcheck.add_python_layer_flag(parser)
    return parser


def regularizer_terms(args, img_region, init_region):
    """(loss, gradient) of each regulariser on one region: the p-norm pulls
    towards the initial image (or zero), the auxiliary one towards zero."""
    anchored = img_region if init_region is None else img_region - init_region
    return {'p': p_norm(anchored, p=args.alpha, scale=args.p_scale),
            'p_aux': p_norm(img_region, p=args.alpha_aux, scale=args.p_scale_aux),
            'tv': scaled_tv_norm(img_region, args.tv_reg_scale, args.beta, args.tv_grad_operator)}


def optimize_at_size(net, objective, img, init_img, args, size_idx, num_sizes, mean_img):
    """num_steps of interleaved region updates on img, in place."""
    H, W = net.blobs[input_blob(net)].data.shape[2:]
    regions_even, regions_odd = get_regions(img.shape[2:], (H, W))
    pixel_learning_rates = 1.0 / count_regions_per_pixel(img.shape[2:], regions_even + regions_odd)
    # The schedules (TV weight up, learning rate down) restart at each size.
    weights = {'p': args.p_reg, 'p_aux': args.p_reg_aux, 'tv': args.tv_reg}
    learning_rate = args.learning_rate
    caches = {}
    pixels = PixelHistory(img.shape) if 'plot_pix' in args.iter_behavior else None
    for t in range(args.num_steps):
        if pixels:
            pixels.record(img)
        for regions in (regions_even, regions_odd):
            if not regions:
                continue
            cnn_grad = cnn_grads(net, img, regions, args.target_layer, objective)
            for region, grad in zip(regions, cnn_grad):
                y0, y1, x0, x1 = region
                img_region = img[:, :, y0:y1, x0:x1]
                init_region = None if init_img is None else init_img[0, :, y0:y1, x0:x1]
                terms = regularizer_terms(args, img_region, init_region)
                dimg = grad
                for name in REGULARIZERS:
                    dimg = dimg + weights[name] * terms[name][1]
                step, caches[region] = rmsprop(dimg, cache=caches.get(region), decay_rate=args.decay_rate)
                step *= learning_rate
                if args.use_pixel_learning_rates:
                    step *= pixel_learning_rates[y0:y1, x0:x1]
                img[:, :, y0:y1, x0:x1] += step
            # the start image is 8-bit, so finite; each pass's result goes to the next forward and the saves
            check_finite(img, 'image', t + 1, 'try a smaller --learning_rate')

        if (t + 1) % args.tv_reg_step_iter == 0:
            weights['tv'] += args.tv_reg_step
        if (t + 1) % args.learning_rate_decay_iter == 0:
            learning_rate *= args.learning_rate_decay_fraction

        if (t + 1) % args.output_iter == 0:
            if pixels:
                pixels.plot()
            if args.iter_behavior:  # the original prints for any behaviour
                print('Finished iteration %d / %d for size %d / %d'
                      % (t + 1, args.num_steps, size_idx + 1, num_sizes))
                neuron = (args.target_layer, args.target_neuron) if args.image_type == 'amplify_neuron' \
                    and not args.objective else None
                print_progress(net, img, img_region, cnn_grad, step, terms, weights, neuron)
            img_uint = img_to_uint(img, mean_img, rescale=args.rescale_image)
            if 'show' in args.iter_behavior:
                show_image(img_uint, args.show_width, args.show_height)
            if 'save' in args.iter_behavior:
                name, ext = os.path.splitext(args.output_file)
                imsave('%s_%d_%d%s' % (name, size_idx + 1, t + 1, ext), img_uint)


def parse_args(argv=None):
    """The original's flags, checked (check_args) unless --list_blobs."""
    args = build_parser().parse_args(argv)
    if not args.list_blobs:
        check_args(args)
    return args


def needed_files(args):
    """The net, its mean image and the initial image (fetched first where missing)."""
    paths = [os.path.expandvars(p) for p in (args.deploy_txt, args.caffe_model, args.mean_image)]
    return paths + ([args.initial_image] if args.initial_image else [])


def load_nets(args):
    """The net, in the mode asked for, with the target it raises checked."""
    import caffe
    # Every file first (fetched where missing), so that a missing one is a line before Caffe starts.
    paths = needed_files(args)
    fetching.require(paths)
    if args.initial_image:
        read_rgb(args.initial_image, '--initial_image')
    gpu = None if args.gpu is None else args.gpu >= 0
    loading.set_mode(gpu)
    if gpu:
        caffe.set_device(args.gpu)
    # A patched copy of the definition: force_backward, and the batch size on its input.
    try:
        net = loading.load(paths[0], paths[1], gpu=gpu, batch_size=args.batch_size,
                           **loading.layer_outputs(paths[0], target_names(args)))
    except modelcheck.TooLarge as error:
        if args.batch_size == 1:
            raise
        raise modelcheck.TooLarge('--batch_size %d' % args.batch_size, error.reason,
                                  'give a smaller --batch_size') from None
    loaded = Loaded(classifier=net)
    check_units(args, loaded)
    return loaded


def check_units(args, loaded):
    """The objective's terms, or --target_layer (and --target_neuron), in the net."""
    net = loaded.classifier
    if args.objective:  # instead of --target_layer
        objectives.parse(args.objective).check(net)
        return
    objectives.check_blob(net, args.target_layer, '--target_layer')
    loading.layer_of(net, args.target_layer)  # one computes it (not the input), or a line saying so
    image_size(net)  # a colour image, or a line saying so
    channels = net.blobs[args.target_layer].data.shape[1]
    if args.image_type == 'amplify_neuron' and not 0 <= args.target_neuron < channels:
        raise UserError('--target_neuron %d is out of range: %s has neurons (channels) 0..%d'
                        % (args.target_neuron, args.target_layer, channels - 1))


def objective_of(args):
    """What the ascent raises: the --objective sum, or the layer or neuron of --image_type."""
    if args.objective:
        return objectives.parse(args.objective)
    if args.image_type == 'amplify_layer':
        return amplify_layer(args.amplify_l1_weight, args.amplify_l2_weight, args.amplify_grad_clip)
    return amplify_neuron(args.target_neuron)


def target_names(args):
    """The blobs (or in-place layers: their output) the objective reads."""
    if args.objective:
        return [term.name for term in objectives.parse(args.objective).terms]
    return [args.target_layer]


def check_args(args):
    """Refuse now what would otherwise fail after the optimisation, or at once in Caffe."""
    for flag in ('batch_size', 'num_sizes', 'num_steps', 'output_iter', 'learning_rate_decay_iter',
                 'tv_reg_step_iter'):
        least = 0 if flag == 'num_steps' else 1  # no steps: the start image
        if getattr(args, flag) < least:
            raise UserError('--%s %d: must be at least %d' % (flag, getattr(args, flag), least))
    for flag in ('p_scale', 'p_scale_aux', 'tv_reg_scale'):
        if getattr(args, flag) == 0:  # the regularisers divide the image by it
            raise UserError('--%s 0: a scale the image is divided by; give one other than 0, e.g. 1' % flag)
    for flag in ('alpha', 'alpha_aux'):
        if getattr(args, flag) < 1:  # |x|^(p-1) is infinite at a pixel of 0 below
            raise UserError('--%s %s: p of a p-norm is at least 1; give e.g. 6' % (flag, getattr(args, flag)))
    unknown = [word for word in args.iter_behavior.split('+') if word and word not in ITER_BEHAVIORS]
    if unknown:
        raise UserError('--iter_behavior %s: %r is not one of %s; join them with +, e.g. save+print'
                        % (args.iter_behavior, unknown[0], ', '.join(ITER_BEHAVIORS)))
    if args.objective:
        objectives.parse(args.objective)  # a malformed sum is one line before any file is read
    check_output_file(args.output_file, '--output_file', writable_extensions())
    folder = os.path.dirname(os.path.abspath(args.output_file))
    if not os.path.isdir(folder):
        raise UserError('the folder of --output_file does not exist: %s; create it first' % folder)
    if 'show' in args.iter_behavior or 'plot_pix' in args.iter_behavior:
        pyplot()


def checked_sizes(args, base_size, input_size):
    """The sizes of the multiscale schedule, or one line naming the size flag
    to change: each size must hold the net's input, and be a picture Pillow
    reads back (at most MAX_PIXELS pixels)."""
    ends = [('--initial_size', args.initial_size)] + [('--final_size', args.final_size)] * (args.num_sizes > 1)
    for flag, text in ends:
        scale = float(text[1:]) if text and text.startswith('x') else 1
        height, width = parse_size(text, base_size) if math.isfinite(scale * max(base_size)) else (math.inf,) * 2
        named = '%s %s' % (flag, text) if text else '%s (default: the base size)' % flag
        if height < input_size[0] or width < input_size[1]:
            raise UserError('%s: %dx%d is too small for the net\'s %dx%d input; give at least %dx%d'
                            % (named, height, width, *input_size, *input_size))
        check_pixels(named, height * width)
    sizes = get_size_sequence(base_size, args.initial_size, args.final_size, args.num_sizes, args.resize_type)
    for height, width in sizes:  # between the ends, a size may still be too large (27x9999 to 9999x27)
        check_pixels('--initial_size %s to --final_size %s' % (args.initial_size, args.final_size), height * width)
    return sizes


def check_pixels(named, pixels):
    if pixels > MAX_PIXELS:
        raise UserError('%s: over %d pixels, more than a picture can have here (Pillow\'s limit); give a smaller '
                        'size' % (named, MAX_PIXELS))


def check_blur(blur, size):
    """Stop with one line unless the start noise's blur (a sigma) is from 0 to its largest side."""
    if not 0 <= blur <= max(size):
        raise UserError('--initialization_blur %s: a blur (sigma) from 0 to the start image\'s largest side, %d '
                        'pixels; give e.g. 1' % (blur, max(size)))


def list_blobs(args):
    """--list_blobs: what --target_layer and --objective may name."""
    definition = os.path.expandvars(args.deploy_txt)
    fetching.require([definition])
    print(loading.blob_list(loading.load(definition)))


def run(args, loaded):
    """The multiscale ascent with the net loaded: writes --output_file (and its
    iterations, its arrays) and returns it."""
    net = loaded.classifier
    objective = objective_of(args)
    if args.seed is not None:
        np.random.seed(args.seed)
    clean_stale(os.path.dirname(args.output_file) or ".")  # what a killed run left (its files are renamed whole)
    mean_img = np.load(os.path.expandvars(args.mean_image))
    _, C, H, W = net.blobs[input_blob(net)].data.shape

    base_size = (H, W) if args.initial_image is None else imread(args.initial_image, '--initial_image').shape[:2]
    print('base_size is %r' % (base_size,))
    sizes = checked_sizes(args, base_size, (H, W))

    if args.initial_image is None:
        check_blur(args.initialization_blur, sizes[0])
        img = noise_image(C, sizes[0], mean_img, args.initialization_scale, args.initialization_blur)
        init_img = None
    else:
        init_img = load_initial_image(args.initial_image, sizes[0], mean_img)
        img = init_img.copy()

    for size_idx, size in enumerate(sizes):
        if size_idx > 0:
            img = resize_img(img, size, mean_img)
            if init_img is not None:
                init_img = load_initial_image(args.initial_image, size, mean_img)
        optimize_at_size(net, objective, img, init_img, args, size_idx, len(sizes), mean_img)

    img_uint = img_to_uint(img, mean_img, rescale=args.rescale_image)
    imsave(args.output_file, img_uint)
    if args.save_raw:
        save_raw(args.output_file, image=img, image_uint8=img_uint)  # the float image and its 8-bit picture
    neuron = args.target_neuron if args.image_type == 'amplify_neuron' and not args.objective else None
    return [Result(args.output_file, neuron, objective=args.objective)]


def units_of(args):
    """The unit numbers raised: --objective's terms', or amplify_neuron's --target_neuron."""
    if args.objective:
        return [term.unit for term in objectives.parse(args.objective).terms]
    return [args.target_neuron] if args.image_type == 'amplify_neuron' else []


def output_argv(folder):
    return ['--output_file', os.path.join(folder, 'out.png')]


def output_folder(args):
    return os.path.dirname(args.output_file) or '.'


def scoring(args, size):
    """Not scored on a net (regression.py compares it with the gallery picture alone)."""
    return dict(net=None, layer=None, xy=0, panel_size=size, act_region=None)


def sweep_problem(args):
    shown = [word for word in ('show', 'plot_pix') if word in args.iter_behavior.split('+')]
    if shown:
        return '--iter_behavior %s opens a window on every worker: sweep with save or print' % shown[0]
    return None


def main(argv=None):
    args = parse_args(argv)
    if args.list_blobs:
        return list_blobs(args)
    run(args, load_nets(args))


if __name__ == '__main__':
    cli.run(main)
