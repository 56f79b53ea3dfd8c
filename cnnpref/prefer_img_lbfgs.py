"""Preferred image of CNN units by L-BFGS-B on the pixels."""
import os

import numpy as np

from prefinput.steps import input_blob

from ._common import (check_finite_arguments, intermediate_dir, intermediate_saver, minimize_units, py2_div,
                      random_image, save_jpg)
from .utils import img_deprocess, img_preprocess


def generate_image(net, layer, feature_mask,
                   feature_weight=1., initial_image=None, maxiter=500, disp=True,
                   save_intermediate=False, save_intermediate_every=1, save_intermediate_path=None):
    """The image (H x W x RGB float, mean added back) that drives the units
    selected by `feature_mask` (1: target, 0: not; the shape of `layer`'s
    features) of `net` (a caffe.Classifier, or a caffe.Net with a
    transformer mean) high: L-BFGS-B minimises minus their weighted sum over
    the pixels, each kept within 0..255 before the mean is removed.

    `feature_weight` is a scalar or an array of the features' shape;
    `initial_image` an H x W x RGB image (None: uniform noise); `maxiter`
    bounds the L-BFGS-B iterations; `disp` prints the loss at each; with
    `save_intermediate` the image of every `save_intermediate_every`-th
    evaluation is saved as JPEG into `save_intermediate_path` (default
    ./prefer_img_lbfgs_<timestamp>).
    """
    check_finite_arguments(locals())  # first: locals() are the arguments
    save_path = intermediate_dir(save_intermediate, save_intermediate_path, 'prefer_img_lbfgs')
    data = input_blob(net)
    img_size = net.blobs[data].data.shape[-3:]
    img_mean = net.transformer.mean[data]
    bounds = _pixel_bounds(img_mean, np.prod(img_size))

    if initial_image is None:
        initial_image = random_image(img_size)
    if save_path:
        save_jpg(os.path.join(save_path, 'initial_image.jpg'), np.uint8(initial_image))

    x = minimize_units(net, layer, feature_mask, feature_weight,
                       img_preprocess(initial_image, img_mean).flatten(), bounds, maxiter, disp,
                       image_of=lambda x: x.reshape(img_size),
                       save=intermediate_saver(save_path, save_intermediate_every, img_mean))
    return img_deprocess(x.reshape(img_size), img_mean)


def _pixel_bounds(img_mean, num_of_pix):
    """(min, max) per pixel of the flattened 3 x H x W image: 0..255 less
    each channel's mean."""
    img_min = -np.ravel(img_mean)
    img_max = img_min + 255.
    per_channel = py2_div(num_of_pix, 3)
    return [(img_min[c], img_max[c]) for c in range(3) for _ in range(per_channel)]
