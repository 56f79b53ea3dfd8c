"""cnn-vis's objectives and its step: what is maximised (each sets the diff
of the target blob), the gradient of it at the image, region by region, and
RMSProp.

Faithfulness fixes the order of the float operations: every expression here
is evaluated in the order the original wrote it, so the results match its
bits.  Loss values come with each gradient because the progress print shows
them.
"""
import numpy as np

from prefinput import objectives
from prefinput.netdefs.loading import layer_of
from prefinput.steps import input_blob


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


def rmsprop(dx, cache=None, decay_rate=0.95):
    """RMSProp's step for the gradient dx (before the learning rate) and the new cache."""
    if cache is None:
        cache = np.zeros_like(dx)
    cache = decay_rate * cache + (1 - decay_rate) * dx ** 2
    step = -dx / np.sqrt(cache + 1e-8)
    return step, cache
