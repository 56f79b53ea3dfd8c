"""Preferred image of CNN units by gradient descent with momentum on the pixels."""
import os

import numpy as np

from prefinput.steps import input_blob

from ._common import (DIVERGED, check_finite, check_finite_arguments, gradient_at_image, intermediate_dir,
                      intermediate_saver, normalise_gradient, random_image, report, save_jpg, schedule, shift,
                      target_gradient)
from .utils import (TV_norm, clip_extreme_pixel, clip_small_contribution_pixel, clip_small_norm_pixel,
                    gaussian_blur, img_deprocess, img_preprocess, p_norm)


def generate_image(net, layer, feature_mask,
                   feature_weight=1.,
                   initial_image=None,
                   iter_n=200,
                   lr_start=2., lr_end=1e-10,
                   momentum_start=0.9, momentum_end=0.9,
                   decay_start=0.1, decay_end=0.1,
                   grad_normalize=True,
                   image_jitter=True, jitter_size=32,
                   image_blur=True, sigma_start=2., sigma_end=0.5,
                   use_p_norm_reg=False, p=3, lamda_start=0.5, lamda_end=0.5,
                   use_TV_norm_reg=False, TVbeta=2, TVlamda_start=0.5, TVlamda_end=0.5,
                   clip_extreme=False, clip_extreme_every=4, e_pct_start=1, e_pct_end=1,
                   clip_small_norm=False, clip_small_norm_every=4, n_pct_start=5., n_pct_end=5.,
                   clip_small_contribution=False, clip_small_contribution_every=4, c_pct_start=5., c_pct_end=5.,
                   disp_every=1,
                   save_intermediate=False, save_intermediate_every=1, save_intermediate_path=None):
    """The image (H x W x RGB float, mean added back) that drives the units
    selected by `feature_mask` (1: target, 0: not; the shape of `layer`'s
    features) of `net` (a caffe.Classifier, or a caffe.Net with a
    transformer mean) high.

    Every `<name>_start`/`<name>_end` pair is a schedule going linearly from
    start to end over the `iter_n` iterations: the learning rate `lr`, the
    `momentum`, the pixel `decay`, the blur's `sigma`, the regularisers'
    weights `lamda` and `TVlamda`, and the clipped percentages `e_pct`,
    `n_pct`, `c_pct`.  Each iteration: shift the image randomly by up to
    `jitter_size` pixels (`image_jitter`), step along the (mean-normalised,
    `grad_normalize`) gradient with momentum, plus the gradients of the
    optional p-norm (order `p`) and total-variation (order `TVbeta`)
    regularisers; every `*_every` iterations zero or clip pixels
    (`clip_extreme`: outside the image's percentiles, `clip_small_norm`:
    smallest RGB norm, `clip_small_contribution`: smallest norm of
    image x gradient); shift back, decay and blur (`image_blur`).

    `feature_weight` is a scalar or an array of the features' shape;
    `initial_image` an H x W x RGB image (None: uniform noise); progress is
    printed every `disp_every` iterations; with `save_intermediate` the image
    is saved every `save_intermediate_every` iterations as JPEG into
    `save_intermediate_path` (default ./prefer_img_gd_<timestamp>).
    """
    check_finite_arguments(locals())  # first: locals() are the arguments
    save_path = intermediate_dir(save_intermediate, save_intermediate_path, 'prefer_img_gd')
    data = input_blob(net)
    img_size = net.blobs[data].data.shape[-3:]
    img_mean = net.transformer.mean[data]

    # the regularisers' scale: half the norm of a random image, drawn even
    # when they are off so that the random draws stay the original's
    img_norm0 = np.linalg.norm(random_image(img_size)) / 2.

    if initial_image is None:
        initial_image = random_image(img_size)
    if save_path:
        save_jpg(os.path.join(save_path, 'initial_image.jpg'), np.uint8(initial_image))
    save = intermediate_saver(save_path, save_intermediate_every, img_mean)

    img = img_preprocess(initial_image, img_mean)
    delta_img = np.zeros_like(img)
    feat_grad = target_gradient(net, layer, feature_mask, feature_weight)
    for t in range(iter_n):
        lr = schedule(lr_start, lr_end, t, iter_n)
        momentum = schedule(momentum_start, momentum_end, t, iter_n)
        decay = schedule(decay_start, decay_end, t, iter_n)
        sigma = schedule(sigma_start, sigma_end, t, iter_n)

        if image_jitter:
            ox, oy = np.random.randint(-jitter_size, jitter_size + 1, 2)
            img = shift(img, ox, oy)
            delta_img = shift(delta_img, ox, oy)

        features, grad = gradient_at_image(net, layer, img, feat_grad)
        if grad_normalize:
            grad = normalise_gradient(grad)
        delta_img = delta_img * momentum + grad

        if use_p_norm_reg:
            lamda = schedule(lamda_start, lamda_end, t, iter_n)
            grad_r = _regulariser_gradient(p_norm(img, p)[1], img_norm0, grad_normalize)
            delta_img = delta_img + lamda * grad_r
        if use_TV_norm_reg:
            TVlamda = schedule(TVlamda_start, TVlamda_end, t, iter_n)
            grad_r = _regulariser_gradient(TV_norm(img, TVbeta)[1], img_norm0, grad_normalize)
            delta_img = delta_img + TVlamda * grad_r

        img = img - lr * delta_img

        if clip_extreme and (t + 1) % clip_extreme_every == 0:
            img = clip_extreme_pixel(img, schedule(e_pct_start, e_pct_end, t, iter_n))
        if clip_small_norm and (t + 1) % clip_small_norm_every == 0:
            img = clip_small_norm_pixel(img, schedule(n_pct_start, n_pct_end, t, iter_n))
        if clip_small_contribution and (t + 1) % clip_small_contribution_every == 0:
            img = clip_small_contribution_pixel(img, grad, schedule(c_pct_start, c_pct_end, t, iter_n))

        if image_jitter:
            img = shift(img, -ox, -oy)
            # the momentum shifts back, but this step's gradient stays where it was computed
            delta_img = shift(delta_img - grad, -ox, -oy) + grad

        img = (1 - decay) * img
        if image_blur:
            img = gaussian_blur(img, sigma)

        # the start is checked; each step's result goes to the next forward, the saves and the caller
        check_finite(img, 'image', t + 1, DIVERGED)
        report(t, disp_every, features[feature_mask == 1])
        save(t + 1, img)

    return img_deprocess(img, img_mean)


def _regulariser_gradient(grad_r, img_norm0, grad_normalize):
    """A regulariser's gradient scaled by the image norm (and normalised)."""
    grad_r = grad_r / (img_norm0 ** 2)
    if grad_normalize:
        grad_r = normalise_gradient(grad_r)
    return grad_r
