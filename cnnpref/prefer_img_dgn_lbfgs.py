"""Preferred image of CNN units by L-BFGS-B on the input code of a deep
generator network (the generator is the image prior)."""
import numpy as np

from prefinput.steps import input_blob

from ._common import (Generator, check_finite_arguments, initial_code, intermediate_dir, intermediate_saver,
                      minimize_units)
from .utils import img_deprocess


def generate_image(net_gen, net, layer, feature_mask,
                   feature_weight=1.,
                   initial_gen_feat=None,
                   gen_feat_bounds=None,
                   input_layer_gen=None, output_layer_gen=None,
                   maxiter=500, disp=True,
                   save_intermediate=False, save_intermediate_every=1, save_intermediate_path=None):
    """The image (H x W x RGB float, mean added back) that the generator
    `net_gen` (a caffe.Net) makes from a code optimised with L-BFGS-B so that
    the image drives the units selected by `feature_mask` (1: target, 0: not;
    the shape of `layer`'s features) of `net` (a caffe.Classifier, or a
    caffe.Net with a transformer mean) high.  The generator's output is
    centre-cropped to the CNN's input.

    The code starts at `initial_gen_feat` (None: rectified Gaussian noise
    x 10) in the generator's blob `input_layer_gen` (None: its first blob);
    the image is its blob `output_layer_gen` (None: its last).
    `gen_feat_bounds` is a (min, max) pair per code unit (None or +-inf for
    no bound; default (0, 100) for each); `maxiter` bounds the iterations;
    `disp` prints the loss at each; with `save_intermediate` the image of
    every `save_intermediate_every`-th evaluation is saved as JPEG into
    `save_intermediate_path` (default ./prefer_img_dgn_lbfgs_<timestamp>).
    """
    check_finite_arguments(locals())  # first: locals() are the arguments
    save_path = intermediate_dir(save_intermediate, save_intermediate_path, 'prefer_img_dgn_lbfgs')
    generator = Generator(net_gen, net, input_layer_gen, output_layer_gen)
    initial_gen_feat = initial_code(generator, initial_gen_feat, save_path)
    if gen_feat_bounds is None:
        gen_feat_bounds = [(0., 100.)] * int(np.prod(generator.code_shape))
    img_mean = net.transformer.mean[input_blob(net)]

    code = minimize_units(net, layer, feature_mask, feature_weight,
                          initial_gen_feat.flatten(), gen_feat_bounds, maxiter, disp,
                          image_of=lambda x: generator.image(x.reshape(generator.code_shape)),
                          code_gradient=generator.code_gradient,
                          save=intermediate_saver(save_path, save_intermediate_every, img_mean))
    return img_deprocess(generator.image(code.reshape(generator.code_shape)), img_mean)
