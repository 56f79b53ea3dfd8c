"""Every prototxt of the registry, fetched from a mirror folder, verified,
patched and loaded in our Caffe with random weights.

The mirror folder is ../shared/reference (laid out `<repository>/<path>`,
every prototxt of the registry), or PREFINPUT_PROTOTXT_DIR pointing at
another laid out the same way (e.g. checkouts of the original repositories
side by side, plus `caffe/` for BVLC/caffe's models/).
"""
import dataclasses
import os

import numpy as np
import pytest

caffe = pytest.importorskip("caffe", reason="pycaffe is not importable (run make setup)")
from prefinput.netdefs import prototxt  # noqa: E402
from prefinput.registry import catalogue, fetching  # noqa: E402

PROTOTXTS = [(m, f, url) for m in catalogue.MODELS for f in m.files if f.dest.endswith(".prototxt") for url in f.urls]


@pytest.mark.slow
@pytest.mark.parametrize("m, f, url", PROTOTXTS, ids=[f"{f.dest}@{fetching.mirror_path(url).split('/')[0]}"
                                                       for _m, f, url in PROTOTXTS])
def test_reference_prototxt_loads_after_patching(m, f, url, tmp_path, monkeypatch, shared_path):
    folder = os.environ.get("PREFINPUT_PROTOTXT_DIR") or str(shared_path("reference"))
    assert os.path.isfile(os.path.join(folder, fetching.mirror_path(url))), \
        f"{fetching.mirror_path(url)} is not in the mirror folder {folder}"
    monkeypatch.setenv("PREFINPUT_MIRROR", folder)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    caffe.set_mode_cpu()
    (path,) = fetching.fetch(dataclasses.replace(m, files=(dataclasses.replace(f, urls=(url,)),)),
                              root=str(tmp_path), progress=False)  # verifies the registry's sha256
    patched = prototxt.patch(path)
    net = caffe.Net(patched, caffe.TEST)
    first = net.inputs[0]
    assert net.blobs[first].data.size > 0
    reshapes = [layer for layer in prototxt.parse(open(patched).read())[0].layer if layer.type == "Reshape"]
    if reshapes:  # a generator: a batch of two codes must go through
        net.blobs[first].reshape(2, *net.blobs[first].data.shape[1:])
        net.reshape()
        assert all(net.blobs[layer.top[0]].data.shape[0] == 2 for layer in reshapes)
        assert net.blobs[net.outputs[0]].data.shape[0] == 2
    if m.name == "alexnet" or m.name == "caffenet":  # cnnpref reads pre-ReLU features
        relu = caffe.Net(prototxt.patch(path, relu_out_of_place=True), caffe.TEST)
        assert not any(top == bottom for name in relu._layer_names
                       for top, bottom in zip(relu.top_names[name], relu.bottom_names[name])
                       if relu.layer_dict[name].type == "ReLU")
        assert np.prod(relu.blobs["fc6"].data.shape) == np.prod(net.blobs["fc6"].data.shape)
