"""Preferred image of CNN units by gradient descent with momentum on the input
code of a deep generator network (the generator is the image prior)."""
import os

import numpy as np

from prefinput.steps import input_blob

from ._common import (DIVERGED, Generator, check_finite, check_finite_arguments, gradient_at_image, initial_code,
                      intermediate_dir, intermediate_saver, normalise_gradient, report, save_jpg, schedule,
                      target_gradient)
from .utils import img_deprocess


def generate_image(net_gen, net, layer, feature_mask,
                   feature_weight=1.,
                   initial_gen_feat=None,
                   feat_upper_bound=100., feat_lower_bound=0.,
                   input_layer_gen=None, output_layer_gen=None,
                   iter_n=200,
                   lr_start=2., lr_end=1e-10,
                   momentum_start=0.9, momentum_end=0.9,
                   decay_start=0.01, decay_end=0.01,
                   disp_every=1,
                   save_intermediate=False, save_intermediate_every=1, save_intermediate_path=None):
    """The image (H x W x RGB float, mean added back) that the generator
    `net_gen` (a caffe.Net) makes from a code optimised so that the image
    drives the units selected by `feature_mask` (1: target, 0: not; the shape
    of `layer`'s features) of `net` (a caffe.Classifier, or a caffe.Net with
    a transformer mean) high.  The generator's output is centre-cropped to
    the CNN's input.

    The code starts at `initial_gen_feat` (None: rectified Gaussian noise
    x 10) in the generator's blob `input_layer_gen` (None: its first blob);
    the image is its blob `output_layer_gen` (None: its last).  Each
    iteration steps along the mean-normalised gradient with momentum, decays
    the code and clips it to [`feat_lower_bound`, `feat_upper_bound`]
    (scalars or arrays of the code's shape; None: unbounded).  Every
    `<name>_start`/`<name>_end` pair is a schedule going linearly from start
    to end over the `iter_n` iterations.  Progress is printed every
    `disp_every` iterations; with `save_intermediate` the image is saved
    every `save_intermediate_every` iterations as JPEG into
    `save_intermediate_path` (default ./prefer_img_dgn_gd_<timestamp>).
    """
    check_finite_arguments(locals())  # first: locals() are the arguments
    save_path = intermediate_dir(save_intermediate, save_intermediate_path, 'prefer_img_dgn_gd')
    generator = Generator(net_gen, net, input_layer_gen, output_layer_gen)
    initial_gen_feat = initial_code(generator, initial_gen_feat, save_path)
    img_mean = net.transformer.mean[input_blob(net)]
    save = intermediate_saver(save_path, save_intermediate_every, img_mean)

    feat_gen = initial_gen_feat
    delta_feat_gen = np.zeros_like(feat_gen)
    feat_grad = target_gradient(net, layer, feature_mask, feature_weight)
    for t in range(iter_n):
        lr = schedule(lr_start, lr_end, t, iter_n)
        decay = schedule(decay_start, decay_end, t, iter_n)
        momentum = schedule(momentum_start, momentum_end, t, iter_n)

        check_finite(feat_gen, 'code', t + 1, DIVERGED)
        img = generator.image(feat_gen)
        if t == 0 and save_path:
            save_jpg(os.path.join(save_path, 'initial_img.jpg'), np.uint8(img_deprocess(img, img_mean)))

        check_finite(img, 'image', t + 1, DIVERGED)
        features, img_grad = gradient_at_image(net, layer, img, feat_grad)
        check_finite(img_grad, 'image gradient', t + 1, DIVERGED)  # it goes back into the generator
        g = normalise_gradient(generator.code_gradient(img_grad))
        delta_feat_gen = delta_feat_gen * momentum + g
        feat_gen = feat_gen - lr * delta_feat_gen

        feat_gen = (1 - decay) * feat_gen
        if feat_lower_bound is not None:
            feat_gen = np.maximum(feat_gen, feat_lower_bound)
        if feat_upper_bound is not None:
            feat_gen = np.minimum(feat_gen, feat_upper_bound)

        report(t, disp_every, features[feature_mask == 1])
        save(t + 1, img)

    # the image of the last step's code, as the original returned (not the final code's)
    return img_deprocess(img, img_mean)
