"""What sampling_class.py and sampling_caption.py share (the original's
util.py and the common half of their main()): the command line, loading the
three nets, the start code, inpainting masks, and writing the results.

The samplers themselves (the update rule) are in sampler.py, sampling_class.py
and sampling_caption.py, where a reader of the original looks for them."""
import argparse
import json
import os

import numpy as np

from . import collage, image, models, nets
from .actmax import load_mean, save_image
from .cli import UserError, add_setting_flags, setting
from .files import atomic_path

# The original hard-codes these for 227x227 images; other sizes scale them.
ORIGINAL_SIZE = 227
HOLE_SIZE = 100          # util.get_mask: a 100x100 hole to fill in


# --- command line ---------------------------------------------------------

def sampling_parser(description):
    """The flags both sampling programs take, with the original's defaults,
    plus a flag (and environment variable) for every path in settings.py."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--n_iters', metavar='iter', type=int, default=10,
                        help='Number of sampling steps per each unit')
    parser.add_argument('--threshold', metavar='w', type=float, default=-1.0, nargs='?',
                        help='The probability threshold to decide whether to keep an image')
    parser.add_argument('--save_every', metavar='save_iter', type=int, default=1,
                        help='Save a sample every N iterations. 0 to disable saving')
    parser.add_argument('--reset_every', metavar='reset_iter', type=int, default=0,
                        help='Reset the code every N iterations')
    parser.add_argument('--lr', metavar='lr', type=float, default=2.0, nargs='?', help='Learning rate')
    parser.add_argument('--lr_end', metavar='lr', type=float, default=-1.0, nargs='?',
                        help='Ending learning rate (default: --lr)')
    parser.add_argument('--epsilon1', metavar='lr', type=float, default=1.0, nargs='?', help='Prior')
    parser.add_argument('--epsilon2', metavar='lr', type=float, default=1.0, nargs='?', help='Condition')
    parser.add_argument('--epsilon3', metavar='lr', type=float, default=1.0, nargs='?', help='Noise')
    parser.add_argument('--seed', metavar='n', type=int, default=0, nargs='?', help='Random seed')
    parser.add_argument('--xy', metavar='n', type=int, default=0, nargs='?',
                        help='Spatial position for conv units')
    parser.add_argument('--opt_layer', metavar='s', type=str, default='fc6',
                        help="Layer at which we optimize a code (the encoder's code layer)")
    parser.add_argument('--act_layer', metavar='s', type=str, default='fc8',
                        help='Layer at which we activate a neuron')
    parser.add_argument('--init_file', metavar='s', type=str, default='None',
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
                      defaults={'generator_definition': setting('ppgn_generator_definition'),
                                'generator_weights': setting('ppgn_generator_weights'),
                                'gen_in_layer': setting('ppgn_generator_in_layer'),
                                'gen_out_layer': setting('ppgn_generator_out_layer')})
    add_setting_flags(parser, ['encoder_definition', 'encoder_weights', 'mean_file_mat'])
    return parser


def finish_args(args):
    """The original's one fix-up after parsing: a constant rate by default."""
    if args.lr_end < 0:
        args.lr_end = args.lr
    if args.n_iters < 1:
        raise UserError(f"--n_iters must be at least 1, not {args.n_iters}")
    return args


def print_summary(args, names):
    """The parameter summary the original prints before it starts."""
    print("-------------")
    for name in names:
        print(f" {name}: {getattr(args, name)}")
    print("-------------")


# --- nets -----------------------------------------------------------------

def nets_path(*parts):
    """A path under settings.nets_dir (or $NETS_DIR), where models are downloaded."""
    return os.path.join(setting('nets_dir'), *parts)


def start_files(args):
    """The files a start from a real image reads (none for a random start)."""
    return [] if args.init_file == "None" else [args.init_file, args.mean_file_mat]


def load_net(definition, weights, offline, **patch_options):
    """A net patched for sampling (gradients reach its input), fetched first
    if it is missing; `patch_options` as prefinput.prototxt.patch takes them."""
    models.require([definition, weights], offline=offline)
    return nets.load(definition, weights, **patch_options)


def load_image_nets(args):
    """The encoder E (image -> code) and the generator G (code -> image),
    which backpropagates to its input without weight gradients."""
    encoder = load_net(args.encoder_definition, args.encoder_weights, args.offline)
    generator = load_net(args.generator_definition, args.generator_weights, args.offline, weight_gradients=False)
    for net, name, layer, flag in ((generator, 'generator', args.gen_in_layer, '--gen_in_layer'),
                                   (generator, 'generator', args.gen_out_layer, '--gen_out_layer'),
                                   (encoder, 'encoder', args.opt_layer, '--opt_layer')):
        if layer not in net.blobs:
            raise UserError(f"{flag} {layer}: the {name} has no such blob; it has {', '.join(net.blobs.keys())}")
    return encoder, generator


def last_writer(net, blob):
    """The last layer that writes `blob` (an in-place ReLU after the layer
    that makes it, say): a forward pass up to it gives the blob's final value."""
    writers = [name for name in net._layer_names if blob in net.top_names[name]]
    return writers[-1] if writers else None


def image_size(net):
    """(height, width) of a net's input image."""
    shape = net.blobs['data'].data.shape
    if len(shape) != 4:
        raise UserError(f"the net's input 'data' has shape {shape}; expected 1x3xHxW")
    return shape[2:]


# --- start code -----------------------------------------------------------

def random_code(generator, gen_in_layer):
    """The original's random start: one draw of N(0, 1) in the code's shape."""
    return np.random.normal(0, 1, generator.blobs[gen_in_layer].data.shape)


def compute_topleft(input_size, output_size):
    """Offsets (top, left) that centre an input-sized crop in the output."""
    return ((output_size[0] - input_size[0]) // 2, (output_size[1] - input_size[1]) // 2)


def read_image_for(net, path, mean_file):
    """The image at `path` as `net` takes it: resized to its input with the
    old scipy.misc semantics, RGB -> BGR, minus the centre of the ImageNet
    mean (float32, 1x3xHxW)."""
    size = image_size(net)
    images = np.zeros_like(net.blobs['data'].data, dtype='float32')
    pixels = image.imread(path)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise UserError(f"init file {path} is not an RGB image (shape {pixels.shape})")
    images[0] = np.transpose(image.imresize(pixels, (size[0], size[1])), (2, 0, 1))
    data = images[:, ::-1]  # RGB -> BGR, a view: the mean is subtracted in place as the original did
    mean = load_mean(mean_file)  # BGR, 256x256x3
    top, left = compute_topleft(size, mean.shape[:2])
    data -= np.expand_dims(np.transpose(mean[top:top + size[0], left:left + size[1]], (2, 0, 1)), 0)
    return data


def encode_image(encoder, path, layer, mean_file, mask=None):
    """The original's get_code: the encoder's `layer` code of the image at
    `path` (masked when given), and the image as the encoder saw it."""
    data = read_image_for(encoder, path, mean_file)
    if mask is not None:
        data *= mask
    encoder.forward(data=data)
    return encoder.blobs[layer].data.copy(), data


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

def sampling_settings(args):
    """Sampler.sampling's settings from the command line."""
    return dict(gen_in_layer=args.gen_in_layer, gen_out_layer=args.gen_out_layer,
                n_iters=args.n_iters, lr=args.lr, lr_end=args.lr_end, threshold=args.threshold,
                layer=args.act_layer, epsilon1=args.epsilon1, epsilon2=args.epsilon2, epsilon3=args.epsilon3,
                output_dir=args.output_dir, reset_every=args.reset_every, save_every=args.save_every,
                code_layer=args.opt_layer)


def sample_name(output_dir, i):
    return "%s/samples/%05d.jpg" % (output_dir, i)


def save_results(args, filename, output_image, last_sample, samples):
    """Write the final image, the kept samples (with labels if asked) and,
    with --save_raw, the arrays beside the final image."""
    os.makedirs(os.path.dirname(filename) or '.', exist_ok=True)
    save_image(output_image, filename)
    print(os.path.join(os.getcwd(), filename))
    if args.save_raw:
        save_raw(os.path.splitext(filename)[0] + '.npz', last_sample, samples, args)
    print("Saving images...")
    if samples:
        os.makedirs(os.path.dirname(samples[0][1]), exist_ok=True)
    for img, name, label in samples:
        save_image(img, name)
        if args.write_labels:
            collage.label_below(name, str(label))


def save_raw(path, last_sample, samples, args):
    shape = (0,) + last_sample.shape
    stacked = np.stack([img for img, _, _ in samples]) if samples else np.zeros(shape, np.float32)
    with atomic_path(path) as temporary, open(temporary, 'wb') as f:
        np.savez(f, image=np.asarray(last_sample, np.float32), samples=stacked.astype(np.float32),
                 sample_names=np.array([os.path.basename(name) for _, name, _ in samples]),
                 args=json.dumps(vars(args)))
