"""The pieces of cnn_vis.py (Justin Johnson's cnn-vis): what is maximised
(objectives), how the image is regularised (p-norm, total variation), how it
steps (RMSProp) and how it travels between Caffe's float layout and 8-bit
pictures.

Faithfulness fixes the order of the float operations: every expression here
is evaluated in the order the original wrote it, so the results match its
bits.  Loss values come with each gradient because the progress print shows
them.
"""
import numpy as np
from scipy.ndimage import gaussian_filter

from prefinput import objectives
from prefinput.image import imread, imresize
from prefinput.netdefs.loading import layer_of
from prefinput.steps import input_blob

# The 8-bit picture is brightened a little (x1.2) before the mean colour goes back in.
DISPLAY_GAIN = 1.2


# Objectives: each sets the diff of the target blob, the gradient of the
# negated objective (Caffe descends, cnn-vis ascends).

def amplify_layer(l1_weight=1.0, l2_weight=1.0, grad_clip=5.0):
    """Maximise l1_weight * |a| + l2_weight * (clipped) a^2 / 2 over the whole layer."""
    def set_diff(blob):
        activations = blob.data.copy()
        diff = -l1_weight * np.abs(activations)
        diff -= l2_weight * np.clip(activations, -grad_clip, grad_clip)
        blob.diff[...] = diff
    return set_diff


def amplify_neuron(target_neuron):
    """Maximise one neuron (a whole channel, for convolutional layers)."""
    def set_diff(blob):
        blob.diff[...] = 0.0
        blob.diff[:, target_neuron] = -1.0
    return set_diff


def input_gradients(net, batch, target_layer, objective):
    """Forward `batch` through the net, let the objective set the target
    blob's diff, and return the gradient that reaches the input (the
    backward pass starts at the layer that computes the target blob).  An
    objectives.Objective (--objective: a weighted sum of units, in any
    blobs) makes its own passes, the same for every region."""
    data = input_blob(net)
    if isinstance(objective, objectives.Objective):
        targets = [objective] * len(batch)
        objectives.forward(net, targets, **{data: batch})
        return -objectives.backward(net, targets, diffs=[data])[data]  # negated, as the diffs above are
    net.forward(**{data: batch})
    objective(net.blobs[target_layer])
    net.backward(start=layer_of(net, target_layer))
    return net.blobs[data].diff.copy()


def cnn_grads(net, img, regions, target_layer, objective):
    """Image gradients of the regions (y0, y1, x0, x1) of img (1 x C x H x W),
    batch by batch; the regions must all be the net's input size.

    The batch array is reused, so a last partial batch carries stale regions
    in its tail, as in the original; their gradients are dropped."""
    batch = np.zeros_like(net.blobs[input_blob(net)].data)
    grads = []
    for first in range(0, len(regions), len(batch)):
        chunk = regions[first:first + len(batch)]
        for i, (y0, y1, x0, x1) in enumerate(chunk):
            batch[i] = img[0, :, y0:y1, x0:x1]
        grads.append(input_gradients(net, batch, target_layer, objective)[:len(chunk)])
    return np.vstack(grads)


# Regularisers: each returns (loss, gradient of the loss).

def p_norm(x, p=6.0, scale=10.0):
    """The p-th power of the p-norm of x / scale: keeps pixels in range."""
    loss = (np.abs(x / scale) ** p).sum()
    grad = p / scale * np.sign(x / scale) * np.abs(x / scale) ** (p - 1)
    return loss, grad


def _differences(x, operator):
    """Horizontal and vertical image differences under `operator`."""
    if operator == 'naive':
        x_diff = x[:, :, :-1, :-1] - x[:, :, :-1, 1:]
        y_diff = x[:, :, :-1, :-1] - x[:, :, 1:, :-1]
    elif operator == 'sobel':
        x_diff = x[:, :, :-2, 2:] + 2 * x[:, :, 1:-1, 2:] + x[:, :, 2:, 2:]
        x_diff -= x[:, :, :-2, :-2] + 2 * x[:, :, 1:-1, :-2] + x[:, :, 2:, :-2]
        y_diff = x[:, :, 2:, :-2] + 2 * x[:, :, 2:, 1:-1] + x[:, :, 2:, 2:]
        y_diff -= x[:, :, :-2, :-2] + 2 * x[:, :, :-2, 1:-1] + x[:, :, :-2, 2:]
    elif operator == 'sobel_squish':
        x_diff = x[:, :, :-2, 1:-1] + 2 * x[:, :, 1:-1, 1:-1] + x[:, :, 2:, 1:-1]
        x_diff -= x[:, :, :-2, :-2] + 2 * x[:, :, 1:-1, :-2] + x[:, :, 2:, :-2]
        y_diff = x[:, :, 1:-1, :-2] + 2 * x[:, :, 1:-1, 1:-1] + x[:, :, 1:-1, 2:]
        y_diff -= x[:, :, :-2, :-2] + 2 * x[:, :, :-2, 1:-1] + x[:, :, :-2, 2:]
    else:
        raise ValueError('Unrecognized operator %s' % operator)
    return x_diff, y_diff


def _spread_differences(dx, dx_diff, dy_diff, operator):
    """Add the gradients of the differences back onto the pixels they came from."""
    if operator == 'naive':
        dx[:, :, :-1, :-1] += dx_diff + dy_diff
        dx[:, :, :-1, 1:] -= dx_diff
        dx[:, :, 1:, :-1] -= dy_diff
    elif operator == 'sobel':
        dx[:, :, :-2, :-2] += -dx_diff - dy_diff
        dx[:, :, :-2, 1:-1] += -2 * dy_diff
        dx[:, :, :-2, 2:] += dx_diff - dy_diff
        dx[:, :, 1:-1, :-2] += -2 * dx_diff
        dx[:, :, 1:-1, 2:] += 2 * dx_diff
        dx[:, :, 2:, :-2] += dy_diff - dx_diff
        dx[:, :, 2:, 1:-1] += 2 * dy_diff
        dx[:, :, 2:, 2:] += dx_diff + dy_diff
    else:  # sobel_squish
        dx[:, :, :-2, :-2] += -dx_diff - dy_diff
        dx[:, :, :-2, 1:-1] += dx_diff - 2 * dy_diff
        dx[:, :, :-2, 2:] += -dy_diff
        dx[:, :, 1:-1, :-2] += -2 * dx_diff + dy_diff
        dx[:, :, 1:-1, 1:-1] += 2 * dx_diff + 2 * dy_diff
        dx[:, :, 1:-1, 2:] += dy_diff
        dx[:, :, 2:, :-2] += -dx_diff
        dx[:, :, 2:, 1:-1] += dx_diff


def tv_norm(x, beta=2.0, operator='naive'):
    """Total variation of x (1 x C x H x W): the image gradient's magnitude
    to the power beta, summed; keeps the picture smooth."""
    x_diff, y_diff = _differences(x, operator)
    grad_norm2 = x_diff ** 2.0 + y_diff ** 2.0
    grad_norm2[grad_norm2 < 1e-3] = 1e-3  # keeps beta < 2 finite where the image is flat
    loss = np.sum(grad_norm2 ** (beta / 2.0))
    dgrad_norm2 = (beta / 2.0) * grad_norm2 ** (beta / 2.0 - 1.0)
    dx = np.zeros_like(x)
    _spread_differences(dx, 2.0 * x_diff * dgrad_norm2, 2.0 * y_diff * dgrad_norm2, operator)
    return loss, dx


def scaled_tv_norm(x, scale, beta, operator):
    """tv_norm of x / scale, with its gradient with respect to x."""
    loss, grad = tv_norm(x / scale, beta=beta, operator=operator)
    grad /= scale
    return loss, grad


# The step.

def rmsprop(dx, cache=None, decay_rate=0.95):
    """RMSProp's step for the gradient dx (before the learning rate) and the new cache."""
    if cache is None:
        cache = np.zeros_like(dx)
    cache = decay_rate * cache + (1 - decay_rate) * dx ** 2
    step = -dx / np.sqrt(cache + 1e-8)
    return step, cache


# Between Caffe's layout (1 x C x H x W, BGR, mean colour removed) and pictures.

def img_to_uint(img, mean_img=None, rescale=False):
    """The H x W x 3 RGB uint8 picture of a Caffe image: the mean colour put
    back, then clipped to 0..255 (or stretched from its min..max when rescaling)."""
    if mean_img is not None:
        img = DISPLAY_GAIN * img + mean_img.mean()
    if rescale:
        low, high = img.min(), img.max()
    else:
        low, high = 0, 255
    img = np.clip(img, low, high)
    img = 255.0 * (img - low) / (high - low)
    img = img.squeeze().transpose(1, 2, 0)
    return img[:, :, [2, 1, 0]].astype('uint8')


def uint_to_img(uint_img, mean_img=None):
    """The Caffe image (float64) of an H x W x 3 RGB picture."""
    img = uint_img.astype('float')
    img = img[:, :, [2, 1, 0]].transpose(2, 0, 1)[np.newaxis]
    if mean_img is not None:
        img = img - mean_img.mean()
    return img


def resize_img(img, size, mean_img=None):
    """The image resized to size (h, w), bicubically, through its 8-bit picture."""
    return uint_to_img(imresize(img_to_uint(img, mean_img), size, interp='bicubic'), mean_img)


def load_initial_image(path, size, mean_img):
    """The picture at `path`, resized to (h, w) bilinearly, as a Caffe image."""
    return uint_to_img(imresize(imread(path), size), mean_img)


def noise_image(channels, size, mean_img, scale, blur):
    """Gaussian noise of standard deviation `scale`, blurred through its 8-bit
    picture.  The blur's sigma applies to all three axes, colour included,
    as in the original."""
    noise = scale * np.random.randn(1, channels, size[0], size[1])
    picture = gaussian_filter(img_to_uint(noise, mean_img), sigma=blur)
    return uint_to_img(picture, mean_img)
