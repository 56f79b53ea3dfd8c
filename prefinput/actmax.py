"""What act_max.py needs around its algorithm: nets, the starting code of a
real image, the code's bounds, image files as the original wrote them, and the
example scripts' labels, crops and collage (once done by shell commands)."""
import glob
import json
import os

import numpy as np

from . import collage
from .cli import UserError
from .files import atomic_path
from .image import imread, imresize, imsave

# caffe.Classifier's mean and channel swap, as the original built the net
MEAN = np.float32([104.0, 117.0, 123.0])


def get_code(path, layer, encoder, mean_file):
    """The encoder's `layer` code of the image file at `path`, and the encoder's
    input: the image resized to that input, RGB -> BGR, minus the centre of the
    ImageNet mean.  The original assumed a 227x227 input; the size comes from
    the encoder here (the same numbers at 227)."""
    image_size = encoder.blobs["data"].data.shape[1:]
    images = np.zeros((1,) + image_size, dtype="float32")
    in_image = imread(path)
    if in_image.ndim != 3 or in_image.shape[2] != 3:
        raise UserError(f"{path}: the start image must be an RGB image, not of shape {in_image.shape}")
    in_image = imresize(in_image, (image_size[1], image_size[2]))
    images[0] = np.transpose(in_image, (2, 0, 1))
    data = images[:, ::-1]  # RGB -> BGR

    image_mean = load_mean(mean_file)
    top, left = ((image_mean.shape[0] - image_size[1]) // 2, (image_mean.shape[1] - image_size[2]) // 2)
    image_mean = image_mean[top:top + image_size[1], left:left + image_size[2]]
    data -= np.expand_dims(np.transpose(image_mean, (2, 0, 1)), 0)  # the mean is BGR already

    encoder.forward(data=data)
    return encoder.blobs[layer].data[0].copy()[np.newaxis], data


def load_mean(mean_file):
    """The `image_mean` array (HxWx3, BGR) of the ImageNet mean .mat file."""
    import scipy.io
    return scipy.io.loadmat(mean_file)["image_mean"]


def load_bound(path, shape):
    """Upper and lower bounds of the code read as act_max.py's --bound did:
    the first n values of the file, and 0 below (the code is a ReLU output)."""
    try:
        upper = np.loadtxt(path, delimiter=" ", usecols=np.arange(0, shape[1]), unpack=True)
    except (OSError, ValueError, IndexError) as error:
        raise UserError(f"cannot read {shape[1]} bounds from {path}: {error}") from None
    return upper.reshape(shape), np.zeros(shape)


def check_unit(net, layer, unit, xy, fc_layers, conv_layers):
    """Stop with one line unless `unit` (at `xy`) exists in `layer` of `net`."""
    if layer not in fc_layers + conv_layers:
        raise UserError(f"--act_layer {layer}: not one of the fc layers {fc_layers} or conv layers {conv_layers}")
    if layer not in net.blobs:
        raise UserError(f"--act_layer {layer}: the net has no such blob")
    shape = net.blobs[layer].data.shape
    units = shape[1] if layer in conv_layers else net.blobs[layer].data.size
    if not 0 <= unit < units:
        raise UserError(f"--unit {unit}: {layer} has units 0..{units - 1}")
    if layer in conv_layers and not (0 <= xy < shape[2] and xy < shape[3]):
        raise UserError(f"--xy {xy}: {layer} is {shape[2]}x{shape[3]}")


def output_name(output_dir, act_layer, unit, n_iters, L2, start_lr, seed):
    """The original's file name: <dir>/<layer>_<unit>_<iters>_<L2>_<lr>__<seed>.jpg"""
    return "%s/%s_%s_%s_%s_%s__%s.jpg" % (output_dir, act_layer, str(unit).zfill(4), str(n_iters).zfill(2),
                                          L2, start_lr, seed)


def save_image(img, name):
    """Save a 1x3xHxW BGR image as the original did: clip to [-120, 120],
    map to [0, 1] (patchShow) and save, which stretches min..max to 0..255."""
    rgb = np.zeros(img.shape[2:] + (3,))
    rgb[:] = img[0, ::-1].transpose((1, 2, 0))
    os.makedirs(os.path.dirname(name) or ".", exist_ok=True)
    imsave(name, (np.clip(rgb, -120, 120) + 120) / 240)


def save_raw(image_name, image, code):
    """Beside the image: <name minus .jpg>.npz with the float32 BGR `image` it
    was made from and the final `code`."""
    path = os.path.splitext(image_name)[0] + ".npz"
    with atomic_path(path) as temporary:
        np.savez(temporary, image=image, code=code)
    return path


# The example scripts' post-processing ------------------------------------

def read_labels(path):
    """The lines of a label file, blank ones skipped (as bash's `read -a` did)."""
    with open(path) as f:
        return [line.rstrip("\r\n") for line in f if line.strip()]


def label_of(unit, style, lines):
    """The text under a unit's image: 'unit' its number; 'synset' words 2-3
    before the first comma ("n07720875 bell pepper" -> "bell pepper");
    'places' the first word with its first '_' a space ("art_gallery 8")."""
    if style == "unit":
        return str(unit)
    if unit >= len(lines):
        raise UserError(f"unit {unit}: the label file has only {len(lines)} labels")
    if style == "synset":
        return " ".join(lines[unit].split(",")[0].split(" ")[1:3]).strip()
    return lines[unit].split(" ")[0].replace("_", " ", 1)


def debug_dir(output_dir):
    """Where --debug 1 saves every iteration (the original used ./debug,
    which its example script deleted and made again in whatever folder it ran)."""
    return os.path.join(output_dir, "debug")


def clear_debug_dir(output_dir):
    """Make the debug folder, without the iterations of an earlier run in it."""
    folder = debug_dir(output_dir)
    os.makedirs(folder, exist_ok=True)
    for name in glob.glob(os.path.join(folder, "[0-9][0-9][0-9].jpg")):
        os.remove(name)


def finish_example(files, units, image_size, args):
    """Crop, label and tile the outputs (HxW `image_size`) as the example
    scripts did; write the manifest regression.py reads beside the collage."""
    if args.crop:
        for name in files:
            collage.crop(name, *args.crop)
    if args.labels:
        lines = read_labels(args.label_file) if args.labels != "unit" else []
        for name, unit in zip(files, units):
            collage.label_below(name, label_of(unit, args.labels, lines))
    if not args.collage:
        return None
    if args.debug:  # the collage shows the iterations instead (example 3)
        debug_images = sorted(glob.glob(os.path.join(debug_dir(args.output_dir), "[0-9][0-9][0-9].jpg")))
        collage.montage(debug_images, args.collage, tile=args.tile)
        return write_manifest(args, debug_images, [units[-1]] * len(debug_images), image_size, (0, 0))
    collage.montage(files, args.collage, tile=args.tile)
    if not args.crop:
        return write_manifest(args, files, units, image_size, (0, 0))
    width, height, x, y = args.crop
    cropped = (min(height, image_size[0] - y), min(width, image_size[1] - x))
    return write_manifest(args, files, units, cropped, (y, x))


def write_manifest(args, panels, units, panel_size, panel_offset):
    """<collage minus .jpg>.json: what regression.py needs to find our panels
    (the top centre `panel_size` of each file) and to score them on the net
    (each panel at `panel_offset` in the net's input)."""
    folder = os.path.dirname(os.path.abspath(args.collage))
    manifest = {
        "collage": os.path.basename(args.collage),
        "tile": list(args.tile),
        "net_definition": os.path.abspath(args.net_definition),
        "net_weights": os.path.abspath(args.net_weights),
        "layer": args.act_layer,
        "xy": args.xy,
        "panel_size": [int(n) for n in panel_size],
        "panel_offset": [int(n) for n in panel_offset],
        "panels": [{"file": os.path.relpath(os.path.abspath(name), folder), "unit": int(unit)}
                   for name, unit in zip(panels, units)],
    }
    path = os.path.splitext(os.path.abspath(args.collage))[0] + ".json"
    with atomic_path(path) as temporary, open(temporary, "w") as f:
        json.dump(manifest, f, indent=1)
    return path


def parse_tile(text):
    """'5x1' -> (5, 1)"""
    try:
        columns, rows = (int(n) for n in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"expected COLUMNSxROWS, e.g. 5x1, not {text!r}") from None
    return columns, rows


def parse_crop(text):
    """'163x163+32+32' -> (163, 163, 32, 32): width, height, x, y"""
    try:
        size, x, y = text.split("+")
        width, height = parse_tile(size)
        return width, height, int(x), int(y)
    except ValueError:
        raise ValueError(f"expected WIDTHxHEIGHT+X+Y, e.g. 163x163+32+32, not {text!r}") from None
