"""Caffe's InnerProduct without OpenBLAS's packing (docker/patches/0003):
at batch 1 the same bits as cblas_sgemm, and a batch gets, row by row, the
bits of its images one at a time.  In the pinned environment, where the
patch's exact products run; CAFFE_ONE_ROW_GEMM=0 turns them off."""
import numpy as np
import pytest

caffe = pytest.importorskip("caffe", reason="pycaffe is not importable (run make setup)")
from caffe import layers as L  # noqa: E402

# fc6's fan-in, and outputs enough that OpenBLAS runs the product threaded
# and splits its last blocks of K, with a tail of outputs past the vectors;
# five rows, which OpenBLAS computes with other kernels than one row.
INPUTS, OUTPUTS, BATCH = 4100, 1003, 5


@pytest.fixture(autouse=True)
def pinned(pinned_environment, monkeypatch):
    monkeypatch.delenv("CAFFE_ONE_ROW_GEMM", raising=False)
    caffe.set_mode_cpu()
    caffe.set_random_seed(0)


def fully_connected(tmp_path, batch, transpose=False):
    """data (batch x INPUTS) -> InnerProduct (OUTPUTS), gradients to the data;
    the same random weights every time."""
    n = caffe.NetSpec()
    n.data = L.Input(shape=dict(dim=[batch, INPUTS]))
    n.fc = L.InnerProduct(n.data, num_output=OUTPUTS, transpose=transpose,
                          weight_filler=dict(type="gaussian", std=0.1), bias_filler=dict(type="constant", value=0.5))
    net = n.to_proto()
    net.force_backward = True
    path = tmp_path / f"fc_{batch}_{transpose}.prototxt"
    path.write_text(str(net))
    caffe.set_random_seed(0)
    return caffe.Net(str(path), caffe.TEST)


def forward_backward(net, data, top_diff):
    net.blobs["data"].data[...] = data
    net.forward()
    net.blobs["fc"].diff[...] = top_diff
    net.backward()
    return net.blobs["fc"].data.copy(), net.blobs["data"].diff.copy()


def one_at_a_time(net, data, top_diff):
    rows = [forward_backward(net, data[i:i + 1], top_diff[i:i + 1]) for i in range(len(data))]
    return np.concatenate([r[0] for r in rows]), np.concatenate([r[1] for r in rows])


def inputs():
    state = np.random.RandomState(1)
    return state.normal(0, 1, (BATCH, INPUTS)).astype(np.float32), state.normal(0, 1, (BATCH, OUTPUTS)).astype(
        np.float32)


@pytest.mark.parametrize("transpose", [False, True])
def test_at_batch_1_the_bits_are_cblas_sgemms(tmp_path, monkeypatch, transpose):
    net = fully_connected(tmp_path, 1, transpose)
    data, top_diff = (array[:1] for array in inputs())
    exact = forward_backward(net, data, top_diff)
    monkeypatch.setenv("CAFFE_ONE_ROW_GEMM", "0")
    stock = forward_backward(net, data, top_diff)
    assert np.abs(exact[0]).max() > 0 and np.abs(exact[1]).max() > 0
    assert np.array_equal(exact[0], stock[0]) and np.array_equal(exact[1], stock[1])


@pytest.mark.parametrize("transpose", [False, True])
def test_a_batch_gets_the_bits_of_its_images_one_at_a_time(tmp_path, transpose):
    data, top_diff = inputs()
    batched = forward_backward(fully_connected(tmp_path, BATCH, transpose), data, top_diff)
    alone = one_at_a_time(fully_connected(tmp_path, 1, transpose), data, top_diff)
    assert np.array_equal(batched[0], alone[0]) and np.array_equal(batched[1], alone[1])


def test_without_the_patch_a_batch_rounds_otherwise(tmp_path, monkeypatch):
    """Why the patch: OpenBLAS's product with several rows is not the one-row
    products stacked (the difference the batched mode used to show)."""
    monkeypatch.setenv("CAFFE_ONE_ROW_GEMM", "0")
    data, top_diff = inputs()
    batched = forward_backward(fully_connected(tmp_path, BATCH), data, top_diff)
    alone = one_at_a_time(fully_connected(tmp_path, 1), data, top_diff)
    assert not (np.array_equal(batched[0], alone[0]) and np.array_equal(batched[1], alone[1]))
    assert np.allclose(batched[0], alone[0], rtol=1e-5, atol=1e-4)
