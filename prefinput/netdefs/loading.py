"""Load Caffe nets from their patched definitions (see prefinput.netdefs.prototxt),
and find their blobs' layers.

    fetching.require([definition, weights])          # fetch what is missing, once, first
    net = loading.load(definition, weights)
    net = loading.load(definition, weights, relu_out_of_place=True)   # cnnpref

Callers fetch the files first (prefinput.registry.fetching.require) for all the nets
they load, so a missing file is one line before any work and Caffe never
aborts on it; the definition, and the weights against it, are checked first
in a child process (prefinput.netdefs.modelcheck) for the same reason.
"""
import functools

import numpy as np

from prefinput import objectives
from prefinput.environment import setting, truthy
from prefinput.errors import UserError
from prefinput.netdefs import modelcheck, prototxt
from prefinput.steps import check_image_input

# caffe.Classifier's mean (BGR), as the original programs built their classifiers
CLASSIFIER_MEAN = np.float32([104.0, 117.0, 123.0])


def load(definition, weights=None, *, gpu=None, **patch_options):
    """caffe.Net in TEST phase from the patched copy of `definition`, with
    `weights` (None: random initial weights from the fillers); `gpu` as in
    set_mode."""
    import caffe
    set_mode(gpu)
    patched = prototxt.patch(definition, **patch_options)
    modelcheck.check(patched, weights or None, definition)
    if weights:
        return caffe.Net(patched, caffe.TEST, weights=weights)
    return caffe.Net(patched, caffe.TEST)


def classifier(definition, weights, *, gpu=None, image_dims=None, mean=None, input_scale=None,
               raw_scale=None, channel_swap=None, **patch_options):
    """caffe.Classifier on the patched copy of `definition`, with the
    Classifier's own preprocessing arguments."""
    import caffe
    set_mode(gpu)
    patched = prototxt.patch(definition, **patch_options)
    modelcheck.check(patched, weights, definition)
    with open(patched) as f:  # caffe.Classifier takes colour images: a grey net fails inside it
        shapes = [shape for _name, shape in prototxt.input_shapes(prototxt.parse(f.read(), patched)[0]) if shape]
    if shapes:
        check_image_input(shapes[0], f"{definition}: the net's input")
    return caffe.Classifier(patched, weights, image_dims=image_dims, mean=mean, input_scale=input_scale,
                            raw_scale=raw_scale, channel_swap=channel_swap)


def set_mode(gpu=None):
    """Caffe's CPU or GPU mode: `gpu` True/False, or None for settings.gpu
    (environment variable GPU: 1/0, true/false)."""
    _set_mode(truthy(setting("gpu") if gpu is None else gpu))


@functools.lru_cache(maxsize=None)
def _set_mode(gpu):
    import caffe
    if gpu:
        if not prototxt.caffe_links("libcudart"):
            raise UserError("GPU mode asked for (--gpu, GPU or settings.gpu) but this Caffe is a CPU-only "
                            "build; build it with docker/build_caffe.sh --cuda, or run on the CPU")
        caffe.set_mode_gpu()
    else:
        caffe.set_mode_cpu()


def layer_of(net, blob, last=False):
    """The layer that makes `blob` (the first to write it), or with `last` the
    last to write it (an in-place ReLU after that layer, say).  A forward pass
    up to it, or a backward pass from it, works on the blob whatever the
    layers are called; in the original nets the layer is named after its blob."""
    writers = [name for name in net._layer_names if blob in net.top_names[name]]
    if blob in net.inputs or not writers:
        raise UserError(f"{blob}: no layer of the net computes this blob (it is an input); choose one of "
                        f"{', '.join(b for b in net.blobs.keys() if b not in net.inputs)}")
    return writers[-1] if last else writers[0]


def check_batch(loaded, n, flag):
    """Stop with one line unless the nets `loaded`, reshaped to `n` items (the
    value of `flag`), fit in Caffe's blobs and in memory: before any reshape."""
    what, fix = f"{flag} {n}", f"give a smaller {flag}"
    try:
        needed = sum(modelcheck.net_bytes(net, n, what) for net in loaded)
    except modelcheck.TooLarge as error:
        raise modelcheck.TooLarge(what, error.reason, fix) from None
    modelcheck.check_fits(needed, what, fix)


def layer_outputs(definition, names):
    """The patch option that makes `names` usable as blobs where they are
    in-place layers (BatchNorm, Scale, ReLU writing their input's blob): each
    writes a blob of its own, named after it, its output.  {} where none is."""
    in_place = prototxt.in_place_layers(definition, [name for name in names if name])
    return {"out_of_place": in_place} if in_place else {}


def blob_list(net):
    """--list_blobs: a line per blob a user may name, with its shape (without
    Caffe's split copies), then the in-place layers, which name their output."""
    lines = ["%-32s %s" % (name, "x".join(map(str, net.blobs[name].data.shape[1:])))
             for name in objectives.user_blobs(net)]
    for name in objectives.in_place_layers(net):
        blob = net.top_names[name][0]
        lines.append("%-32s %s  (layer %s, in place on %s: its output)" % (
            name, "x".join(map(str, net.blobs[blob].data.shape[1:])), name, blob))
    return "\n".join(lines)


def set_batch(net, blob, n):
    """Reshape `net` for `n` items at its input `blob` (the generators need
    the registry's flexible_batch patch)."""
    shape = net.blobs[blob].data.shape
    if shape[0] != n:
        net.blobs[blob].reshape(n, *shape[1:])
        net.reshape()
