"""The pieces every optimisation loop here is made of, named once.

    step_size = schedule(lr, lr_end, i, n_iters)        the step-size schedule
    grad_norm = ascend(code, gradient, step_size)       DeepDream's normalised step
    image = x[centre_crop(x.shape, net_input.shape)]    the classifier's view of an image
    data = read_image_for(net, path, mean_file)         an image file as a net takes it
    one_hot[unit_index(blob.shape, unit, xy)] = 1       one unit of a blob
    check_finite(code, "code", i, hint)                 stop before Caffe sees a NaN or an infinity

Each keeps the float operations, and their order, of the original loops; the
goldens hold them to it.
"""
import math
import numbers
import warnings

import numpy as np
from numpy.linalg import norm

from prefinput.errors import UserError
from prefinput.image import imresize, read_rgb
from prefinput.objectives import check_blob

# The gradient norm a step reports when it skipped a NaN gradient (the original's value).
NAN_SKIPPED = 1e-12
FLOAT32_MAX = np.finfo(np.float32).max


class Diverged(UserError):
    """An optimisation whose code or image is no longer finite."""


def check_finite(array, what, step, hint):
    """Stop with one line unless every value of `array`, about to be given to
    Caffe at `step`, is finite as Caffe's float32 (a larger float64 becomes an
    infinity there): a NaN corrupts Caffe's memory (MAX pooling over an
    all-NaN window writes outside its buffer), an infinity becomes NaN."""
    if not (np.abs(array) <= FLOAT32_MAX).all():  # False for a NaN too
        raise Diverged(f"diverged at step {step}: the {what} is no longer finite; {hint}")


def py2_div(a, b):
    """a / b as Python 2 computed it: floor division when both are integers."""
    if isinstance(a, numbers.Integral) and isinstance(b, numbers.Integral):
        return a // b
    return a / b


def schedule(start, end, i, n):
    """The value at step i of n going linearly from `start` towards `end`."""
    return start + py2_div((end - start) * i, n)


def normalised_step(gradient, step_size):
    """The step along `gradient` scaled so that its mean |component| is `step_size`."""
    return step_size / np.abs(gradient).mean() * gradient


def ascend(data, gradient, step_size):
    """Move `data` (in place) by the normalised step along `gradient`, unless
    the gradient is NaN or zero; return its norm (NAN_SKIPPED for NaN)."""
    grad_norm = norm(gradient)
    if math.isnan(grad_norm):
        return NAN_SKIPPED
    if grad_norm == 0:
        return 0
    data += normalised_step(gradient, step_size)
    return grad_norm


def centre_offset(outer, inner):
    """(top, left) of an `inner` (height, width) region centred in `outer`,
    rounded down as Python 2's integer division did."""
    return (outer[0] - inner[0]) // 2, (outer[1] - inner[1]) // 2


def centre_crop(outer_shape, inner_shape):
    """The index of the centred `inner_shape` region in the last two axes of
    an array of `outer_shape` (both ...xHxW)."""
    (height, width), (top, left) = inner_shape[-2:], centre_offset(outer_shape[-2:], inner_shape[-2:])
    return (Ellipsis, slice(top, top + height), slice(left, left + width))


def input_blob(net):
    """The name of a net's (first) input blob, whatever the model calls it."""
    if not net.inputs:
        raise UserError("the net has no input blob: give its definition an input (input:, input_shape or an "
                        "Input layer)")
    return net.inputs[0]


def check_image_input(shape, what):
    """Stop with one line unless an input of `shape` (`what`: the net's input,
    named) is a colour image, Nx3xHxW: the programs and their means have 3 channels."""
    if len(shape) != 4 or shape[1] != 3:
        raise UserError(f"{what} has shape {'x'.join(map(str, shape))}, not a colour image (Nx3xHxW); give a net "
                        "that takes RGB images")


def image_size(net):
    """(height, width) of a net's input image."""
    name = input_blob(net)
    shape = net.blobs[name].data.shape
    check_image_input(shape, f"the net's input {name!r}")
    return shape[2:]


def check_covers(generator, gen_out_layer, net, what):
    """Stop with one line unless the generator's images (blob `gen_out_layer`)
    hold `net`'s input image, which is their centre crop."""
    shape, size = generator.blobs[gen_out_layer].data.shape, tuple(image_size(net))
    if len(shape) != 4 or shape[1] != 3 or shape[2] < size[0] or shape[3] < size[1]:
        raise UserError(f"the generator's {gen_out_layer} images are {'x'.join(map(str, shape[1:]))}, which do not "
                        f"hold {what}'s 3x{size[0]}x{size[1]} input; give a generator (or --gen_out_layer) with "
                        f"3-channel images at least that large")


def load_mean(mean_file):
    """The `image_mean` array (HxWx3, BGR) of the ImageNet mean .mat file."""
    import scipy.io
    return scipy.io.loadmat(mean_file)["image_mean"]


def read_image_for(net, path, mean_file):
    """The image file at `path` as `net` takes it (1x3xHxW float32): resized
    to its input with the old scipy.misc semantics, RGB -> BGR, minus the
    centre of the ImageNet mean.  The originals assumed 227x227; the size
    comes from the net (the same numbers at 227)."""
    size = image_size(net)
    images = np.zeros((1, 3) + tuple(size), dtype="float32")
    pixels = read_rgb(path, "--init_file")
    images[0] = np.transpose(imresize(pixels, (size[0], size[1])), (2, 0, 1))
    data = images[:, ::-1]  # RGB -> BGR, a view: the mean is subtracted in place as the originals did
    mean = np.transpose(load_mean(mean_file), (2, 0, 1))  # BGR already
    data -= np.expand_dims(mean[centre_crop(mean.shape, size)], 0)
    return data


def read_bounds(path, count, what):
    """The first `count` numbers of the one-line, space-separated file at
    `path` (read as the originals did, np.loadtxt), or one line naming it as
    `what` where it is empty, short, has more lines or holds a NaN."""
    wanted = f"give one line of {count} numbers separated by spaces"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # numpy's "input contained no data"
            values = np.loadtxt(path, delimiter=" ", usecols=np.arange(0, count), unpack=True)
    except (OSError, ValueError, IndexError, UserWarning) as error:
        raise UserError(f"{what} {path}: cannot read {count} bounds ({error}); {wanted}") from None
    if values.shape != (count,):
        raise UserError(f"{what} {path}: more than one line of bounds; {wanted}")
    if np.isnan(values).any():
        raise UserError(f"{what} {path}: a bound is NaN; {wanted}")
    return values


def check_code_layers(generator, gen_in_layer, encoder=None, opt_layer=None):
    """Stop with one line unless `gen_in_layer`, the generator's code, is its
    input, and the `encoder`'s blob `opt_layer` (both known blobs) is a code
    of that shape."""
    if gen_in_layer not in generator.inputs:
        raise UserError(f"--gen_in_layer {gen_in_layer}: not the generator's input (a layer computes it); give its "
                        f"input, {', '.join(generator.inputs)}")
    wanted = generator.blobs[gen_in_layer].data.shape[1:]
    if encoder is not None and encoder.blobs[opt_layer].data.shape[1:] != wanted:
        code = encoder.blobs[opt_layer].data.shape[1:]
        raise UserError(f"--opt_layer {opt_layer}: the encoder's {opt_layer} is {'x'.join(map(str, code))}, the "
                        f"generator's code ({gen_in_layer}) {'x'.join(map(str, wanted))}; give the encoder layer of "
                        "that shape the generator was trained on (e.g. fc6)")


def encode(encoder, data, layer):
    """The encoder's `layer` code of its input image `data` (1xD...)."""
    encoder.forward(**{input_blob(encoder): data})
    return encoder.blobs[layer].data.copy()


def is_spatial(shape):
    """Whether a unit of a blob of `shape` (NxCx...) is picked at a position:
    a convolution's or pooling's NxCxHxW, not a fully connected layer's NxC."""
    return len(shape) > 2


def unit_index(shape, unit, xy=0):
    """The index of `unit` (at (xy, xy) in a spatial blob) in one item of a
    blob of `shape`: [unit] or [unit, xy, xy]."""
    return (unit,) + (xy,) * (len(shape) - 2)


def unit_values(blob_data, xy=0):
    """One item's units of a blob (Cx... data): at (xy, xy) where it is spatial."""
    return blob_data if blob_data.ndim == 1 else blob_data[(slice(None),) + (xy,) * (blob_data.ndim - 1)]


def check_unit(net, layer, unit, xy=0, flag="--act_layer"):
    """Stop with one line unless blob `layer` of `net` has `unit` (at (xy, xy) where it is spatial)."""
    check_blob(net, layer, flag)
    shape = net.blobs[layer].data.shape
    units = shape[1] if len(shape) > 1 else 1
    if not 0 <= unit < units:
        raise UserError(f"--unit {unit}: {layer} has units 0..{units - 1}")
    if is_spatial(shape) and not all(0 <= xy < n for n in shape[2:]):
        raise UserError(f"--xy {xy}: {layer} is {'x'.join(map(str, shape[2:]))}")
