"""The original cnnpref's eight example programs in one page: preferred images
of 25 channels of a lower layer (one unit at the centre of each channel) or of
a higher layer (fc8), by each of the four variants, with the options each
original example set.  Run them as
`generate_preferred_image_<variant>__for_<lower|higher>_layer.py`;
environment variables: see common.py."""
import sys

import common  # first: it puts the repository on sys.path and imports prefinput before numpy
import numpy as np

from cnnpref import prefer_img_dgn_gd, prefer_img_dgn_lbfgs, prefer_img_gd, prefer_img_lbfgs
from cnnpref.utils import create_receptive_field_mask
from prefinput.steps import check_covers, input_blob

VARIANTS = {'gd': prefer_img_gd, 'lbfgs': prefer_img_lbfgs,
            'dgn_gd': prefer_img_dgn_gd, 'dgn_lbfgs': prefer_img_dgn_lbfgs}

# the weight of the target units in each original example
FEATURE_WEIGHT = {'gd': {'lower': 1., 'higher': 1.}, 'lbfgs': {'lower': 1., 'higher': 10.},
                  'dgn_gd': {'lower': 1., 'higher': 10.}, 'dgn_lbfgs': {'lower': 0.05, 'higher': 10.}}


def gd_options(which, net, net_gen):
    return {
        'iter_n': common.iterations(200),  # the total number of iterations
        'disp_every': 1,  # print progress every n iterations
        'save_intermediate': False, 'save_intermediate_every': 10,
        'lr_start': 1., 'lr_end': 1.,  # learning rate
        'momentum_start': 0.001, 'momentum_end': 0.001,
        'decay_start': 0.001, 'decay_end': 0.001,  # pixel decay at each iteration
        'image_blur': True, 'sigma_start': 2.5, 'sigma_end': 0.5,  # gaussian smoothing
        'image_jitter': True, 'jitter_size': {'lower': 4, 'higher': 32}[which],
        'clip_small_norm': True, 'clip_small_norm_every': 1, 'n_pct_start': 5, 'n_pct_end': 5,
        'clip_small_contribution': True, 'clip_small_contribution_every': 1, 'c_pct_start': 5, 'c_pct_end': 5,
        'initial_image': None,  # None: random noise
    }


def lbfgs_options(which, net, net_gen):
    h, w = net.blobs[input_blob(net)].data.shape[-2:]
    return {
        'maxiter': common.iterations({'lower': 50, 'higher': 500}[which]),  # the maximum number of iterations
        'disp': True,  # print progress
        'save_intermediate': False, 'save_intermediate_every': {'lower': 10, 'higher': 50}[which],
        'initial_image': np.zeros((h, w, 3), dtype='float32'),  # black; None: random noise
    }


def dgn_gd_options(which, net, net_gen):
    lower = which == 'lower'
    return {
        'iter_n': common.iterations(200),  # the total number of iterations
        'disp_every': 1,  # print progress every n iterations
        'save_intermediate': False, 'save_intermediate_every': 10,
        'lr_start': 0.1 if lower else 2., 'lr_end': 0.01 if lower else 1e-10,  # learning rate
        'momentum_start': 0.1 if lower else 0.9, 'momentum_end': 0.1 if lower else 0.9,
        'decay_start': 0.001 if lower else 0.01, 'decay_end': 0.001 if lower else 0.01,  # decay of the code
        'input_layer_gen': common.INPUT_LAYER_GEN, 'output_layer_gen': common.OUTPUT_LAYER_GEN,
        'feat_upper_bound': common.generator_upper_bound(net_gen), 'feat_lower_bound': 0.,
        'initial_gen_feat': None,  # None: random noise
    }


def dgn_lbfgs_options(which, net, net_gen):
    upper_bound = common.generator_upper_bound(net_gen)
    return {
        'maxiter': common.iterations({'lower': 200, 'higher': 500}[which]),  # the maximum number of iterations
        'disp': True,  # print progress
        'save_intermediate': True, 'save_intermediate_every': 10,
        'input_layer_gen': common.INPUT_LAYER_GEN, 'output_layer_gen': common.OUTPUT_LAYER_GEN,
        'gen_feat_bounds': [(0., upper) for upper in upper_bound.flatten()],  # (min, max) of each code unit
        'initial_gen_feat': None,  # None: random noise
    }


OPTIONS = {'gd': gd_options, 'lbfgs': lbfgs_options, 'dgn_gd': dgn_gd_options, 'dgn_lbfgs': dgn_lbfgs_options}


def channel_targets(net, layer, which, weight):
    """(channel, feature mask, feature weight) of each channel the original examples raise."""
    return [channel_target(net, layer, which, weight, channel) for channel in common.channel_list(net, layer)]


def channel_target(net, layer, which, weight, channel):
    """(channel, feature mask, feature weight): the lower layer's centre unit of it, the higher layer's channel."""
    unit_mask = common.centre_unit_mask if which == 'lower' else common.channel_mask
    return channel, unit_mask(net, layer, channel), common.unit_weights(net, layer, weight)


def load_nets(variant, which):
    """(net, layer, net_gen): the CNN and its target layer, and the generator for a dgn_ variant (else None)."""
    with_generator = variant.startswith('dgn_')
    common.require_files(with_generator)
    net, layer = common.load_cnn(which)
    net_gen = common.load_generator() if with_generator else None
    if with_generator:
        check_covers(net_gen, common.OUTPUT_LAYER_GEN, net, 'the CNN')
    return net, layer, net_gen


def objective_targets(net, objective, variant, which):
    """(layer, [(name, feature mask, feature weight)]) of one image raising the sum of units `objective`."""
    layer, feature_mask, weights = common.objective_target(net, objective)
    return layer, [(objective.slug(), feature_mask,
                    np.float32(common.unit_weights(net, layer, FEATURE_WEIGHT[variant][which]) * weights))]


def preferred_image(variant, net, net_gen, layer, target, opts, save_path):
    """The preferred image of one (channel, feature mask, feature weight) `target`, saved; returns its .jpg."""
    channel, feature_mask, feature_weight = target
    print('\nchannel=%s\n' % channel)
    # the receptive field of the target units (all ones for fc layers)
    img_mask = create_receptive_field_mask(net, layer, feature_mask) if net_gen else None
    nets = (net_gen, net) if net_gen else (net,)
    preferred_img = VARIANTS[variant].generate_image(*nets, layer, feature_mask, feature_weight=feature_weight, **opts)
    return common.save_result(save_path, layer, channel, preferred_img, img_mask)


def main(variant, which, script):
    """Preferred images of the `which` ('lower' or 'higher') layer's channels by
    cnnpref.prefer_img_<variant>, into a new result folder named after `script`."""
    common.parse_args(script, sys.modules['__main__'].__doc__, variant.startswith('dgn_'))
    objective = common.objective()
    net, layer, net_gen = load_nets(variant, which)
    options = OPTIONS[variant](which, net, net_gen)
    if objective:
        layer, targets = objective_targets(net, objective, variant, which)
    else:
        targets = channel_targets(net, layer, which, FEATURE_WEIGHT[variant][which])
    save_path = common.result_folder(script)  # after the settings are read, so a mistake leaves no folder
    opts = dict(options, save_intermediate_path=save_path)
    common.save_options(save_path, opts)

    for target in targets:
        preferred_image(variant, net, net_gen, layer, target, opts, save_path)
    print('Done!')
