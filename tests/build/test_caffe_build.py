"""Our Caffe build, checked through pycaffe: layers the harness relies on run
forward and backward, gradients match finite differences, weights survive a
save and reload, the tiny fixture nets load; and Caffe's own test suite."""
import subprocess
from pathlib import Path

import numpy as np
import pytest

import caffe
from caffe import layers as L
from caffe import params as P

GAUSS = dict(type="gaussian", std=0.3)
BIAS = dict(type="constant", value=0.05)


def write_net(tmp_path, pooling=P.Pooling.AVE):
    """A tiny net with the layer types of the real generators and classifiers."""
    n = caffe.NetSpec()
    n.data = L.Input(shape=dict(dim=[2, 3, 8, 8]))
    n.conv = L.Convolution(n.data, num_output=4, kernel_size=3, weight_filler=GAUSS, bias_filler=BIAS)
    n.relu = L.ReLU(n.conv, negative_slope=0.3, in_place=True)
    n.pool = L.Pooling(n.relu, pool=pooling, kernel_size=2, stride=2)
    n.fc = L.InnerProduct(n.pool, num_output=12, weight_filler=GAUSS, bias_filler=BIAS)
    n.code = L.Reshape(n.fc, shape=dict(dim=[-1, 3, 2, 2]))
    n.deconv = L.Deconvolution(n.code, convolution_param=dict(
        num_output=2, kernel_size=2, stride=2, weight_filler=GAUSS, bias_filler=BIAS))
    n.prob = L.Softmax(n.deconv)
    proto = n.to_proto()
    proto.force_backward = True
    path = tmp_path / "net.prototxt"
    path.write_text(str(proto))
    return str(path)


@pytest.fixture
def net(tmp_path):
    caffe.set_mode_cpu()
    caffe.set_random_seed(7)
    net = caffe.Net(write_net(tmp_path), caffe.TEST)
    net.blobs["data"].data[...] = np.random.RandomState(0).uniform(-1, 1, (2, 3, 8, 8))
    return net


def test_shapes_through_every_layer(net):
    net.forward()
    shapes = {name: blob.data.shape for name, blob in net.blobs.items()}
    assert shapes == {"data": (2, 3, 8, 8), "conv": (2, 4, 6, 6), "pool": (2, 4, 3, 3), "fc": (2, 12),
                      "code": (2, 3, 2, 2), "deconv": (2, 2, 4, 4), "prob": (2, 2, 4, 4)}
    assert np.allclose(net.blobs["prob"].data.sum(axis=1), 1, atol=1e-6)


def objective(net, weights):
    net.forward()
    return float((net.blobs["prob"].data.astype(np.float64) * weights).sum())


def test_gradient_to_input_matches_finite_differences(net):
    weights = np.random.RandomState(1).standard_normal(net.blobs["prob"].data.shape)
    objective(net, weights)
    net.blobs["prob"].diff[...] = weights
    net.backward()
    analytic = net.blobs["data"].diff.copy()
    assert np.abs(analytic).max() > 0, "force_backward should bring a gradient to the input"

    data = net.blobs["data"].data
    eps = 1e-2
    for index in [(0, 0, 0, 0), (0, 1, 3, 4), (1, 2, 7, 7), (1, 0, 5, 2), (0, 2, 4, 4)]:
        original = data[index]
        data[index] = original + eps
        above = objective(net, weights)
        data[index] = original - eps
        below = objective(net, weights)
        data[index] = original
        numeric = (above - below) / (2 * eps)
        assert numeric == pytest.approx(analytic[index], rel=3e-2, abs=2e-4), index


def test_weights_survive_save_and_reload(net, tmp_path):
    net.forward()
    before = net.blobs["prob"].data.copy()
    weights = tmp_path / "net.caffemodel"
    net.save(str(weights))
    reloaded = caffe.Net(write_net(tmp_path), str(weights), caffe.TEST)
    for name in net.params:
        for mine, theirs in zip(net.params[name], reloaded.params[name]):
            assert np.array_equal(mine.data, theirs.data), name
    reloaded.blobs["data"].data[...] = net.blobs["data"].data
    reloaded.forward()
    assert np.array_equal(reloaded.blobs["prob"].data, before)


def test_tiny_fixture_nets_load_with_expected_blobs(tiny):
    caffe.set_mode_cpu()
    classifier = caffe.Net(*tiny["classifier"], caffe.TEST)
    generator = caffe.Net(*tiny["generator"], caffe.TEST)
    assert generator.blobs["feat"].data.shape == (1, 64)
    assert generator.blobs["deconv0"].data.shape == (1, 3, 32, 32)
    assert classifier.blobs["data"].data.shape == (1, 3, 27, 27)
    assert classifier.blobs["fc6"].data.shape == (1, 64)
    assert classifier.blobs["fc8"].data.shape == (1, 10)
    assert classifier.blobs["prob"].data.shape == (1, 10)
    assert {"conv1", "conv2", "conv3", "conv4", "conv5", "pool5", "fc7"} <= set(classifier.blobs)


def build_info(repo):
    info = repo / "build" / "caffe" / "BUILD_INFO"
    if not info.exists():
        pytest.skip(f"{info} is missing: run `make setup` first")
    return dict(line.split("=", 1) for line in info.read_text().split())


def test_pycaffe_is_built_for_debians_python_and_numpy(repo):
    """Not for whatever python3 comes first on the PATH: on a clean Debian
    machine only Debian's has NumPy, and without it there is no pycaffe."""
    cache = Path(build_info(repo)["build_root"]) / "src" / "build" / "CMakeCache.txt"
    if not cache.exists():
        pytest.skip(f"{cache} is gone (the Docker image keeps only the installed prefix)")
    settings = cache.read_text()
    assert "PYTHON_EXECUTABLE:FILEPATH=/usr/bin/python3\n" in settings
    assert "[/usr/lib/python3/dist-packages/numpy/" in settings


@pytest.mark.slow
def test_caffe_own_test_suite_passes(repo):
    """Caffe's gtest suite is the first check of a build (run from its source
    root, whose test data paths are relative)."""
    info = build_info(repo)
    source = Path(info["build_root"]) / "src"
    binary = source / "build" / "test" / "test.testbin"
    if not binary.exists():
        pytest.skip(f"{binary} is missing: the cached build was made with --no-tests")
    gtest_filter = "-*GPU*" if info["cuda"] == "0" else "*"
    result = subprocess.run([str(binary), f"--gtest_filter={gtest_filter}"], cwd=source,
                            capture_output=True, text=True, timeout=900)
    tail = "\n".join(result.stdout.splitlines()[-15:])
    assert result.returncode == 0, tail
    assert "[  PASSED  ]" in result.stdout and "FAILED" not in result.stdout, tail
