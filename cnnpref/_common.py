"""What the four generate_image variants share: the target units' gradient,
one pass down and up the CNN, the generator's crop, parameter schedules,
L-BFGS-B and the intermediate files.  Float operations keep the original's
order; the golden tests hold them to it."""
import itertools
import numbers
import os
from datetime import datetime

import numpy as np
import PIL.Image
import scipy.io as sio
from scipy.optimize import minimize

from prefinput.errors import NotFinite
from prefinput.files import atomic_path
from prefinput.netdefs.loading import layer_of
from prefinput.steps import centre_crop, check_finite, input_blob
from prefinput.steps import py2_div, schedule  # noqa: F401  (the variants and the tests take them from here)

from .utils import img_deprocess, normalise_img


# The fix for a code or image that is no longer finite, in generate_image's terms.
DIVERGED = 'try a smaller lr_start or feature_weight'


def check_finite_arguments(arguments):
    """Raise NotFinite (a ValueError and a UserError) for the first number or
    float array among a generate_image's `arguments` (its locals()) that is
    NaN or infinite, before Caffe sees it; bounds may be infinite."""
    for name, value in arguments.items():
        if name.endswith(('bound', 'bounds')):
            continue
        if isinstance(value, numbers.Real) and not np.isfinite(value):
            raise NotFinite(name, value)
        if isinstance(value, np.ndarray) and value.dtype.kind in 'fc' and not np.isfinite(value).all():
            raise NotFinite(name, '(an array with non-finite values)')


def random_image(img_size):
    """A uniform random H x W x 3 image of ints 0..255, for img_size (3, H, W)."""
    return np.random.randint(0, 256, (img_size[1], img_size[2], img_size[0]))


def rectified_normal_code(code_shape):
    """A random non-negative generator code: N(0, 1), negatives zeroed, times 10."""
    code = np.float32(np.random.normal(0, 1, code_shape))
    code[code < 0] = 0.
    return code * 10.


def initial_code(generator, initial_gen_feat, save_path):
    """initial_gen_feat, or a random code when it is None; saved as
    initial_gen_feat.mat into save_path when intermediates are saved."""
    if initial_gen_feat is None:
        initial_gen_feat = rectified_normal_code(generator.code_shape)
    if save_path:
        save_mat(os.path.join(save_path, 'initial_gen_feat.mat'), initial_gen_feat=initial_gen_feat)
    return initial_gen_feat


def target_gradient(net, layer, feature_mask, feature_weight):
    """The diff to put on `layer`: -feature_weight at the target units (we
    descend on minus their activation), 0 elsewhere."""
    feat_grad = np.zeros_like(net.blobs[layer].diff[0])
    feat_grad[feature_mask == 1] = -1.
    return feat_grad * feature_weight


def units_loss(features, feature_mask, feature_weight):
    """Minus the weighted activation of the target units, summed."""
    return float(np.sum(-(features * feature_weight)[feature_mask == 1]))


def gradient_at_image(net, layer, img, feat_grad):
    """Forward `img` (3 x H x W, preprocessed) to `layer`, back-propagate
    feat_grad from there; return (the layer's features, the image gradient).
    `layer` is a blob; the passes go to and from the layer that computes it."""
    data, computed_by = net.blobs[input_blob(net)], layer_of(net, layer)
    data.data[0] = img
    net.forward(end=computed_by)
    features = net.blobs[layer].data[0].copy()
    net.blobs[layer].diff[0] = feat_grad
    net.backward(start=computed_by)
    net.blobs[layer].diff.fill(0.)
    return features, data.diff[0].copy()


def normalise_gradient(grad):
    """grad divided by its mean absolute value (unless that is 0)."""
    grad_mean = np.abs(grad).mean()
    if grad_mean > 0:
        grad = grad / grad_mean
    return grad


def shift(img, ox, oy):
    """Roll a ... x H x W array ox pixels right and oy pixels down."""
    return np.roll(np.roll(img, ox, -1), oy, -2)


def report(t, disp_every, feat):
    """Print the mean |activation| of the target units every disp_every steps."""
    if (t + 1) % disp_every == 0:
        print('iter=%d; mean(abs(feat))=%g;' % (t + 1, np.mean(np.abs(feat))))


class Generator:
    """A deep generator net seen as a map from a code to a CNN input image:
    its output is centre-cropped to the CNN's input size."""

    def __init__(self, net_gen, net, input_layer=None, output_layer=None):
        blob_names = list(net_gen.blobs.keys())
        self.net = net_gen
        self.input_layer = blob_names[0] if input_layer is None else input_layer
        self.output_layer = blob_names[-1] if output_layer is None else output_layer
        self.code_shape = net_gen.blobs[self.input_layer].data.shape[1:]
        img_size = net.blobs[input_blob(net)].data.shape[-3:]
        img_size_gen = net_gen.blobs[self.output_layer].data.shape[-3:]
        self.crop = centre_crop(img_size_gen, img_size)

    def image(self, code):
        """The cropped image (3 x H x W) generated from `code`."""
        self.net.blobs[self.input_layer].data[0] = code
        self.net.forward()
        return self.net.blobs[self.output_layer].data[0][self.crop].copy()

    def code_gradient(self, img_grad):
        """Back-propagate the cropped image's gradient to the code."""
        output = self.net.blobs[self.output_layer]
        full_grad = np.zeros_like(output.diff[0])
        full_grad[self.crop] = img_grad
        output.diff[0] = full_grad
        self.net.backward()
        output.diff.fill(0.)
        return self.net.blobs[self.input_layer].diff[0].copy()


def minimize_units(net, layer, feature_mask, feature_weight, x0, bounds, maxiter, disp,
                   image_of, save, code_gradient=lambda grad: grad):
    """Minimise units_loss over x (pixels, or a generator's code) with
    L-BFGS-B; image_of(x) is the CNN's input for x, code_gradient maps the
    image gradient back to x, save(t, img) is called at every evaluation t.
    Returns the final x."""
    feat_grad = target_gradient(net, layer, feature_mask, feature_weight)
    evaluations = itertools.count()

    def loss_and_gradient(x):
        t = next(evaluations)
        check_finite(x, 'L-BFGS-B point', t, DIVERGED)  # proposed NaN once the loss is not finite
        img = image_of(x)
        check_finite(img, 'image', t, DIVERGED)
        save(t, img)
        features, grad = gradient_at_image(net, layer, img, feat_grad)
        check_finite(grad, 'image gradient', t, DIVERGED)  # it may go back into a generator
        loss = units_loss(features, feature_mask, feature_weight)
        return loss, code_gradient(grad).flatten().astype(np.float64)

    iterations = itertools.count(1)

    def progress(intermediate_result):
        print('iter=%d; loss=%g;' % (next(iterations), intermediate_result.fun))

    result = minimize(loss_and_gradient, x0, method='L-BFGS-B', jac=True, bounds=bounds,
                      options={'maxiter': maxiter}, callback=progress if disp else None)
    return result.x


def intermediate_dir(save_intermediate, path, prefix):
    """The folder for intermediate results (made if missing), or None when
    they are not saved; by default ./<prefix>_<timestamp>."""
    if not save_intermediate:
        return None
    if path is None:
        path = os.path.join('.', prefix + '_' + datetime.now().strftime('%Y%m%dT%H%M%S'))
    os.makedirs(path, exist_ok=True)
    return path


def save_jpg(path, uint8_img):
    with atomic_path(path) as partial:
        PIL.Image.fromarray(uint8_img).save(partial)


def save_mat(path, **arrays):
    with atomic_path(path) as partial:
        sio.savemat(partial, arrays)


def intermediate_saver(folder, every, img_mean):
    """save(t, img): the stretched image as <folder>/<t>.jpg when t is a
    multiple of `every` (nothing when folder is None)."""
    if folder is None:
        return lambda t, img: None

    def save(t, img):
        if t % every == 0:
            save_jpg(os.path.join(folder, '%05d.jpg' % t), normalise_img(img_deprocess(img, img_mean)))
    return save
