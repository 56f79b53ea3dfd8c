"""The real architectures with random weights, for timing only.

The caffemodels cannot be downloaded here, so each benchmark net is its
reference prototxt with weights drawn once (scaled layer by layer so that
activations keep a sensible size and the gradients neither vanish nor blow
up) and saved as a caffemodel in the cache folder; later runs load that file,
as the programs load the real weights."""
import os

import numpy as np

from prefinput.errors import UserError
from prefinput.files import atomic_path
from prefinput.netdefs import prototxt

# Standard deviation each layer's output is scaled to: hidden layers 1; the
# generator's image about the +-120 range act_max clips to; the classifier's
# scores a few units, like a trained net's.
OUTPUT_STD = {"deconv0": 50.0, "fc8": 3.0}
WEIGHTED = ("Convolution", "Deconvolution", "InnerProduct")


def reference_copy(definition, cache, name):
    """`<cache>/<name>.prototxt`, a copy of the reference `definition`, beside
    which the random weights are saved."""
    if not os.path.isfile(definition):
        raise UserError(f"net definition not found: {definition}; fetch it with nets/download.sh, "
                        "or point the flags of bench/run.py --help at a copy")
    path = os.path.join(cache, name + ".prototxt")
    with open(definition) as f:
        text = f.read()
    if not os.path.isfile(path) or open(path).read() != text:
        with atomic_path(path) as tmp, open(tmp, "w") as f:
            f.write(text)
    return path


def random_weights(definition, input_blob, input_std=1.0, seed=0):
    """`<definition minus .prototxt>.caffemodel`: random weights for
    `definition`, made on first use."""
    path = os.path.splitext(definition)[0] + ".caffemodel"
    if os.path.isfile(path):
        return path
    import caffe
    net = caffe.Net(prototxt.patch(definition), caffe.TEST)
    rng = np.random.RandomState(seed)
    net.blobs[input_blob].data[...] = rng.normal(0, input_std, net.blobs[input_blob].data.shape)
    for index, layer in enumerate(net.layers):
        if layer.type not in WEIGHTED:
            continue
        weights = layer.blobs[0].data
        weights[...] = rng.normal(0, 1, weights.shape)
        if len(layer.blobs) > 1:
            layer.blobs[1].data[...] = 0
        scale_to_std(net, index, OUTPUT_STD.get(net._layer_names[index], 1.0))
    with atomic_path(path) as tmp:
        net.save(tmp)
    return path


def scale_to_std(net, index, std):
    """Scale layer `index`'s weights so that its output has standard deviation `std`."""
    name = net._layer_names[index]
    net._forward(0, index)
    top = net.blobs[net.top_names[name][0]].data
    net.layers[index].blobs[0].data[...] *= std / max(float(top.std()), 1e-12)


def bound_file(cache, size, value=3.0):
    """An act_range-style bound file (`size` numbers on one line)."""
    path = os.path.join(cache, f"bound_{size}.txt")
    if not os.path.isfile(path):
        with atomic_path(path) as tmp:
            np.savetxt(tmp, np.full((1, size), value), delimiter=" ")
    return path


def synset_file(cache, classes=1000):
    """A label file in synset_words.txt's format, for the PPGN sampler."""
    path = os.path.join(cache, "synset_words.txt")
    if not os.path.isfile(path):
        with atomic_path(path) as tmp, open(tmp, "w") as f:
            f.writelines(f"n{i:08d} class {i}, label\n" for i in range(classes))
    return path
