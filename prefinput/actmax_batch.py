"""act_max for several units at once (act_max.py --batch N): each iteration is
one forward and one backward pass of both nets over a batch of codes, one
code per unit, instead of one pass per unit.

Each unit follows the original's arithmetic on its own slice of the batch
(the step normalised by its own mean |gradient|, the NaN skip, the stop on a
zero gradient, bounds or clip, L2), so the results equal one-at-a-time runs
up to the rounding of Caffe's fully-connected layers, which multiply a batch
by a matrix-matrix product and one image by a matrix-vector product (the
largest difference measured is in docs/performance.md).  A unit that stops
keeps its code and image while the others go on.
"""
import math

import numpy as np
from numpy.linalg import norm


def set_batch(net, blob, n):
    """Reshape `net` for `n` inputs at its input `blob` (the generators need
    the registry's flexible_batch patch)."""
    shape = net.blobs[blob].data.shape
    if shape[0] != n:
        net.blobs[blob].reshape(n, *shape[1:])
        net.reshape()


def one_hots(blob, units, xy, fc):
    """The objective of each image of the batch: 1 at its unit (at xy, xy in a conv layer)."""
    one_hot = np.zeros_like(blob.data)
    for b, unit in enumerate(units):
        if fc:
            one_hot[b].flat[unit] = 1.
        else:
            one_hot[b, unit, xy, xy] = 1.
    return one_hot


def ascend(data, g, step_size):
    """act_max's step of one image or code `data` (in place) along its gradient
    `g`: the gradient's norm, 1e-12 where it is NaN (no step) and 0 where it
    is 0 (no step)."""
    grad_norm = norm(g)
    if math.isnan(grad_norm):
        return 1e-12
    if grad_norm == 0:
        return 0
    data += step_size / np.abs(g).mean() * g
    return grad_norm


def bounded(code, clip, upper_bound, lower_bound, L2):
    """The code after the original's clip or per-unit bounds and L2 decay."""
    if clip:
        code = np.clip(code, a_min=-1, a_max=1)
    elif upper_bound is not None:
        code = np.minimum(np.maximum(code, lower_bound), upper_bound)
    if 0 < L2 < 1:
        code[:] *= L2
    return code


def activation_maximization_batch(net, generator, gen_in_layer, gen_out_layer, start_code, params, units,
                                  fc_layers, clip=False, xy=0, upper_bound=None, lower_bound=None):
    """Optimise one code per unit of `units`, all from `start_code` (1xD).
    Returns the images (1x3xHxW each, the generator's last output for the
    unit, cropped) and the final codes (one row per unit)."""
    n = len(units)
    image_size = net.blobs["data"].data.shape[2:]
    output_size = generator.blobs[gen_out_layer].data.shape[2:]
    top, left = (output_size[0] - image_size[0]) // 2, (output_size[1] - image_size[1]) // 2
    inside = np.s_[:, :, top:top + image_size[0], left:left + image_size[1]]
    set_batch(generator, gen_in_layer, n)
    set_batch(net, "data", n)

    print("Starting optimizing %d units at once" % n)
    codes = generator.blobs[gen_in_layer].data
    codes[:] = start_code
    images = net.blobs["data"].data
    running = np.ones(n, dtype=bool)
    best_xx = [None] * n
    best_act = [-np.inf] * n

    for o in params:
        layer = o["layer"]
        fc = layer in fc_layers
        for i in range(o["iter_n"]):
            step_size = o["start_step_size"] + ((o["end_step_size"] - o["start_step_size"]) * i) / o["iter_n"]

            # 1. the codes through the generator, 2-3. the classifier's gradients move the images
            generator.forward(**{gen_in_layer: codes})
            x0 = generator.blobs[gen_out_layer].data
            cropped_x0 = x0[inside].copy()
            net.forward(data=cropped_x0, end=layer)
            acts = net.blobs[layer].data if fc else net.blobs[layer].data[:, :, xy, xy]
            net.blobs[layer].diff[:] = one_hots(net.blobs[layer], units, xy, fc)
            net.backward(start=layer, diffs=["data"])
            grad_norm_net = [ascend(images[b], net.blobs["data"].diff[b], step_size) if running[b] else 0
                             for b in range(n)]
            net.blobs[layer].diff.fill(0.)
            for b in np.flatnonzero(running):
                best_xx[b] = cropped_x0[b:b + 1].copy()
                best_act[b] = 0
                if grad_norm_net[b] not in (0, 1e-12):
                    fc_b = acts[b].reshape(-1)
                    best_act[b] = fc_b[units[b]]
                    print("max: %4s [%.2f]\t obj: %4s [%.2f]\t norm: [%.2f]"
                          % (fc_b.argmax(), fc_b.max(), units[b], best_act[b], grad_norm_net[b]))

            # 4. the images back into the generated ones, 5. through the generator into the codes
            updated_x0 = x0.copy()
            updated_x0[inside] = images
            generator.blobs[gen_out_layer].diff[...] = updated_x0 - x0
            generator.backward(start=gen_out_layer)
            g = generator.blobs[gen_in_layer].diff.copy()
            generator.blobs[gen_out_layer].diff.fill(0.)
            for b in np.flatnonzero(running):
                grad_norm_generator = ascend(codes[b:b + 1], g[b:b + 1], step_size)
                codes[b:b + 1] = bounded(codes[b:b + 1].copy(), clip, upper_bound, lower_bound, o["L2"])
                if grad_norm_generator == 0 or grad_norm_net[b] == 0:
                    print(" unit %s: grad_norm_%s is 0" % (units[b], "generator" if grad_norm_generator == 0
                                                           else "net"))
                    running[b] = False
            if not running.any():
                break

    print(" -------------------------")
    print(" Result: obj act %s " % best_act)
    return best_xx, codes.copy()
