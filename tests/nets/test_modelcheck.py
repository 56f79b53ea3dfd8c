"""prefinput.netdefs.modelcheck: a caffemodel checked against its definition before
Caffe sees it, and the verdict remembered so that a second run pays nothing."""
import os
import time

import pytest

pytest.importorskip("caffe", reason="pycaffe is not importable (run make setup)")

from prefinput.errors import UserError  # noqa: E402
from prefinput.netdefs import loading, modelcheck, prototxt  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFINPUT_MODELCHECK_CACHE", str(tmp_path / "modelcheck"))
    monkeypatch.setenv("PREFINPUT_PROTOTXT_CACHE", str(tmp_path / "prototxt"))
    return tmp_path / "modelcheck"


def count_calls(monkeypatch, name):
    calls = []
    real = getattr(modelcheck, name)
    monkeypatch.setattr(modelcheck, name, lambda *args: calls.append(args) or real(*args))
    return calls


def test_a_second_check_parses_nothing(tiny, cache, monkeypatch):
    """The child process that builds the net and parses the weights runs once."""
    definition, weights = tiny["classifier"]
    patched = prototxt.patch(definition)
    children = count_calls(monkeypatch, "check_in_child")
    first = modelcheck.check(patched, weights, definition)
    assert modelcheck.check(patched, weights, definition) == first > 0
    assert len(children) == 1
    assert len(os.listdir(cache / "verdicts")) == 1


def test_a_second_check_hashes_nothing(tiny, cache, monkeypatch):
    from prefinput import digests
    definition, weights = tiny["classifier"]
    patched = prototxt.patch(definition)
    os.utime(patched, (time.time() - 60,) * 2)  # not changed just now: its sha256 may be remembered
    hashed = []
    real = digests.file_digest
    monkeypatch.setattr(digests, "file_digest", lambda path, *rest: hashed.append(path) or real(path, *rest))
    modelcheck.check(patched, weights, definition)
    assert sorted(hashed) == sorted([patched, weights])
    modelcheck.check(patched, weights, definition)
    assert len(hashed) == 2


def test_a_file_changed_just_now_is_hashed_again(tmp_path, cache):
    path = tmp_path / "w.caffemodel"
    path.write_bytes(b"one")
    first = modelcheck.file_sha256(str(path))
    with open(path, "r+b") as f:  # same size, and likely the same mtime tick
        f.write(b"two")
    assert modelcheck.file_sha256(str(path)) != first


def test_a_failed_check_is_not_remembered(tiny, cache, tmp_path):
    definition = tiny["classifier"][0]
    weights = tmp_path / "empty.caffemodel"
    weights.write_bytes(b"")
    for _ in range(2):
        with pytest.raises(UserError, match="the weights file is empty"):
            loading.load(definition, str(weights))
    assert not (cache / "verdicts").exists()


def test_another_definition_is_checked_again(tiny, cache, tmp_path):
    definition, weights = tiny["classifier"]
    loading.load(definition, weights)
    changed = tmp_path / "fc8_7.prototxt"
    changed.write_text(open(definition).read().replace("num_output: 10\n", "num_output: 7\n"))
    with pytest.raises(UserError, match=r"^fc8: the weights are 10x64, the definition wants 7x64 "):
        loading.load(str(changed), weights)


def test_layers_the_patch_adds_need_no_weights(tiny, cache):
    """weight_gradients=False adds identity Scale layers the caffemodel cannot have."""
    definition, weights = tiny["classifier"]
    net = loading.load(definition, weights, weight_gradients=False)
    assert any(name.endswith("_gradient") for name in net._layer_names)


def test_an_unwritable_cache_only_costs_the_work_again(tiny, tmp_path, monkeypatch):
    (tmp_path / "a file").write_text("")
    monkeypatch.setenv("PREFINPUT_MODELCHECK_CACHE", str(tmp_path / "a file" / "cache"))
    monkeypatch.setenv("PREFINPUT_PROTOTXT_CACHE", str(tmp_path / "prototxt"))
    assert "fc8" in loading.load(*tiny["classifier"]).params


def test_old_format_weights_with_4d_shapes_are_accepted_as_caffe_takes_them(tiny, cache, tmp_path):
    """V1 `layers` with num/channels/height/width blobs (the BVLC caffemodels' format)."""
    import numpy as np
    from caffe.proto import caffe_pb2
    definition, weights = tiny["classifier"]
    new = caffe_pb2.NetParameter()
    new.ParseFromString(open(weights, "rb").read())
    old = caffe_pb2.NetParameter()
    types = {"Convolution": caffe_pb2.V1LayerParameter.CONVOLUTION,
             "InnerProduct": caffe_pb2.V1LayerParameter.INNER_PRODUCT}
    for layer in new.layer:
        if layer.blobs:
            v1 = old.layers.add(name=layer.name, type=types[layer.type])
            for blob in layer.blobs:
                dims = (1,) * (4 - len(blob.shape.dim)) + tuple(blob.shape.dim)
                v1.blobs.add(num=dims[0], channels=dims[1], height=dims[2], width=dims[3], data=blob.data)
    path = tmp_path / "v1.caffemodel"
    path.write_bytes(old.SerializeToString())
    ours, reference = loading.load(definition, str(path)), loading.load(definition, weights)
    assert all(np.array_equal(a.data, b.data) for a, b in zip(ours.params["fc8"], reference.params["fc8"]))
    v1 = old.layers[-1]
    v1.blobs[0].num = 2
    path.write_bytes(old.SerializeToString())
    with pytest.raises(UserError, match=r"^fc8: the weights are 2x1x10x64, the definition wants 10x64 "):
        loading.load(definition, str(path))


def test_a_batch_is_checked_against_caffes_blobs_and_the_memory_before_any_reshape(tiny, cache):
    import resource
    net = loading.load(*tiny["classifier"])
    shape = net.blobs["data"].data.shape
    with pytest.raises(modelcheck.TooLarge, match=r"^--batch 1000000: blob data would hold 2187000000 values, more "
                                                  r"than Caffe's 2147483647; give a smaller --batch$"):
        loading.check_batch([net], 10**6, "--batch")
    assert net.blobs["data"].data.shape == shape
    needed = modelcheck.net_bytes(net, 900000)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:  # ulimit -v: what this process may use, whatever the machine has
        resource.setrlimit(resource.RLIMIT_AS, (modelcheck._vm_size() + needed // 2, hard))
        with pytest.raises(modelcheck.TooLarge, match=r"^--batch 900000: the net needs about \d+\.\d GB of memory "
                                                      r"\(its blobs' values and gradients\), more than the "):
            loading.check_batch([net], 900000, "--batch")
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    loading.check_batch([net], 5, "--batch")

