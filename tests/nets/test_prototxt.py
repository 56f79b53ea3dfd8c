"""Prototxt patching on the parsed protobuf, and loading.load, on nets made here."""
import os
import pathlib
import stat
import subprocess
import sys

import numpy as np
import pytest

caffe = pytest.importorskip("caffe", reason="pycaffe is not importable (run make setup)")
from caffe import layers as L  # noqa: E402
from caffe.proto import caffe_pb2  # noqa: E402
from google.protobuf import text_format  # noqa: E402

from prefinput.errors import UserError  # noqa: E402
from prefinput.netdefs import loading, prototxt  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]
GAUSSIAN = dict(type="gaussian", std=0.5)
ONE = dict(type="constant", value=1)  # biases that keep most ReLUs open, so gradients flow


@pytest.fixture(autouse=True)
def cpu_seeded_caffe_and_private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("PREFINPUT_PROTOTXT_CACHE", raising=False)
    monkeypatch.setenv("NETS_DIR", str(tmp_path / "nets"))  # tmp_path itself is a user's folder
    caffe.set_mode_cpu()
    caffe.set_random_seed(0)  # the fillers' weights


CACHE = ("cache", "preferred-inputs", "prototxt")  # under tmp_path, through XDG_CACHE_HOME


def write(path, net):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(net if isinstance(net, str) else str(net))
    return str(path)


def classifier_layers():
    """conv1 -> in-place ReLU -> fc -> in-place ReLU -> in-place Dropout -> out."""
    n = caffe.NetSpec()
    n.data = L.Input(shape=dict(dim=[1, 3, 8, 8]))
    n.conv1 = L.Convolution(n.data, num_output=4, kernel_size=3, weight_filler=GAUSSIAN, bias_filler=ONE)
    n.relu1 = L.ReLU(n.conv1, in_place=True)
    n.fc = L.InnerProduct(n.relu1, num_output=6, weight_filler=GAUSSIAN, bias_filler=ONE)
    n.relu2 = L.ReLU(n.fc, in_place=True)
    n.drop2 = L.Dropout(n.relu2, in_place=True)
    n.out = L.InnerProduct(n.drop2, num_output=3, weight_filler=GAUSSIAN)
    return n.to_proto()


def with_input_dim(net_param, dims=(1, 3, 8, 8)):
    """The same net with its input in the oldest form: input + input_dim."""
    net = caffe_pb2.NetParameter()
    net.input.append("data")
    net.input_dim.extend(dims)
    net.layer.extend(layer for layer in net_param.layer if layer.type != "Input")
    return net


def generator():
    """feat (input_shape form) -> fc -> leaky ReLU -> Reshape (dim: 1) -> Deconvolution (engine: CUDNN)."""
    n = caffe.NetSpec()
    n.fc = L.InnerProduct(bottom="feat", num_output=16 * 2 * 2, weight_filler=GAUSSIAN)
    n.relu = L.ReLU(n.fc, in_place=True, negative_slope=0.3)
    n.reshape = L.Reshape(n.relu, shape=dict(dim=[1, 16, 2, 2]))
    n.deconv0 = L.Deconvolution(n.reshape, convolution_param=dict(
        num_output=3, kernel_size=4, stride=2, pad=1, weight_filler=GAUSSIAN, engine=caffe_pb2.ConvolutionParameter.CUDNN))
    net = n.to_proto()
    net.input.append("feat")
    net.input_shape.add().dim.extend([1, 8])
    return net


def parsed(path):
    net = caffe_pb2.NetParameter()
    text_format.Merge(open(path).read(), net)
    return net


def gradient_at_input(net, top, bottom="data"):
    net.blobs[bottom].data[...] = np.random.RandomState(0).randn(*net.blobs[bottom].data.shape)
    net.forward()
    net.blobs[top].diff[...] = 1
    net.backward(start=top)
    return net.blobs[bottom].diff.copy()


# --- the patches, one by one ----------------------------------------------

def test_force_backward_lets_the_gradient_reach_the_input(tmp_path):
    src = write(tmp_path / "c.prototxt", classifier_layers())
    assert not parsed(src).force_backward
    unpatched = caffe.Net(src, caffe.TEST)
    patched = caffe.Net(prototxt.patch(src), caffe.TEST)
    for name in unpatched.params:
        for a, b in zip(unpatched.params[name], patched.params[name]):
            b.data[...] = a.data
    assert not gradient_at_input(unpatched, "out").any()
    assert np.abs(gradient_at_input(patched, "out")).sum() > 0


def test_cudnn_engine_is_dropped_where_caffe_has_no_cudnn(tmp_path):
    src = write(tmp_path / "g.prototxt", generator())
    if not prototxt.caffe_has_cudnn():  # what the originals' generators do to such a Caffe
        done = subprocess.run([sys.executable, "-c", f"import caffe; caffe.Net({src!r}, caffe.TEST)"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode != 0 and "unknown engine" in done.stderr
    dropped = parsed(prototxt.patch(src, drop_cudnn=True))
    assert not dropped.layer[-1].convolution_param.HasField("engine")
    kept = parsed(prototxt.patch(src, drop_cudnn=False))
    assert kept.layer[-1].convolution_param.engine == caffe_pb2.ConvolutionParameter.CUDNN
    auto = parsed(prototxt.patch(src))
    assert auto.layer[-1].convolution_param.HasField("engine") == prototxt.caffe_has_cudnn()


def test_flexible_batch_runs_a_batch_through_the_generator(tmp_path):
    src = write(tmp_path / "g.prototxt", generator())
    net = caffe.Net(prototxt.patch(src), caffe.TEST)
    assert list(parsed(prototxt.patch(src)).layer[2].reshape_param.shape.dim) == [-1, 16, 2, 2]
    codes = np.random.RandomState(1).randn(3, 8).astype(np.float32)
    singles = []
    for code in codes:
        singles.append(net.forward(feat=code[None])["deconv0"][0].copy())
    net.blobs["feat"].reshape(3, 8)
    net.reshape()
    batch = net.forward(feat=codes)["deconv0"]
    assert batch.shape == (3, 3, 4, 4)
    assert np.array_equal(batch, np.stack(singles))


def test_fixed_batch_keeps_the_reshape_dim(tmp_path):
    src = write(tmp_path / "g.prototxt", generator())
    assert list(parsed(prototxt.patch(src, flexible_batch=False)).layer[2].reshape_param.shape.dim) == [1, 16, 2, 2]


def test_relu_out_of_place_keeps_pre_relu_features_and_the_outputs(tmp_path):
    src = write(tmp_path / "c.prototxt", classifier_layers())
    net_in_place = caffe.Net(prototxt.patch(src), caffe.TEST)
    net = caffe.Net(prototxt.patch(src, relu_out_of_place=True), caffe.TEST)
    for name in net.params:
        for a, b in zip(net_in_place.params[name], net.params[name]):
            b.data[...] = a.data
    x = np.random.RandomState(2).randn(1, 3, 8, 8)
    out = net.forward(data=x)["out"].copy()
    assert np.array_equal(out, net_in_place.forward(data=x)["out"])
    assert (net.blobs["conv1"].data < 0).any() and (net.blobs["relu1"].data >= 0).all()
    assert np.array_equal(net.blobs["relu1"].data, np.maximum(net.blobs["conv1"].data, 0))
    layers = {layer.name: layer for layer in parsed(prototxt.patch(src, relu_out_of_place=True)).layer}
    assert list(layers["fc"].bottom) == ["relu1"]
    assert (list(layers["drop2"].bottom), list(layers["drop2"].top)) == (["relu2"], ["relu2"])
    assert list(layers["out"].bottom) == ["relu2"]


@pytest.mark.parametrize("form", ["input_dim", "input_shape", "Input layer"])
def test_batch_size_is_set_whatever_form_the_input_takes(tmp_path, form):
    net = classifier_layers()
    if form == "input_dim":
        net = with_input_dim(net)
    elif form == "input_shape":
        net = with_input_dim(net)
        del net.input_dim[:]
        net.input_shape.add().dim.extend([1, 3, 8, 8])
    src = write(tmp_path / "c.prototxt", net)
    loaded = caffe.Net(prototxt.patch(src, batch_size=5), caffe.TEST)
    assert loaded.blobs["data"].data.shape == (5, 3, 8, 8)
    assert loaded.blobs["out"].data.shape == (5, 3)


V1 = """name: "v1"
input: "data"
input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8
layers { name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1"
         convolution_param { num_output: 2 kernel_size: 3 weight_filler { type: "gaussian" std: 0.5 } } }
layers { name: "relu1" type: RELU bottom: "conv1" top: "conv1" }
"""
V0 = """name: "v0"
input: "data"
input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8
layers { layer { name: "conv1" type: "conv" num_output: 2 kernelsize: 3
                 weight_filler { type: "gaussian" std: 0.5 } } bottom: "data" top: "conv1" }
layers { layer { name: "relu1" type: "relu" } bottom: "conv1" top: "conv1" }
"""


@pytest.mark.parametrize("text", [V0, V1], ids=["V0", "V1"])
def test_old_formats_are_upgraded_then_patched(tmp_path, text):
    src = write(tmp_path / "old.prototxt", text)
    path = prototxt.patch(src, relu_out_of_place=True, batch_size=2)
    assert "upgraded from the V0/V1 format" in open(path).read()
    net = caffe.Net(path, caffe.TEST)
    assert list(net.blobs) == ["data", "conv1", "relu1"]
    assert net.blobs["data"].data.shape == (2, 3, 8, 8)
    assert np.abs(gradient_at_input(net, "relu1")).sum() > 0


# --- the patched copy -----------------------------------------------------

def test_upstream_file_is_untouched_and_the_copy_says_what_was_patched(tmp_path):
    src = write(tmp_path / "g.prototxt", generator())
    before = open(src).read()
    path = prototxt.patch(src, drop_cudnn=True)
    assert path.startswith(str(tmp_path.joinpath(*CACHE)))
    assert open(src).read() == before
    header = [line for line in open(path) if line.startswith("#")]
    assert header[0].startswith(f"# Patched copy of {src}")
    assert "# - force_backward: true\n" in header
    assert "# - engine: CUDNN dropped from deconv0\n" in header
    assert "# - Reshape reshape: batch dim 1 -> -1\n" in header
    assert header[-1].startswith("# prefinput-patch {") and '"source_sha256"' in header[-1]


def test_a_source_outside_nets_dir_leaves_its_folder_alone_and_goes_to_the_cache(tmp_path):
    folder = tmp_path / "my model"
    src = write(folder / "deploy.prototxt", classifier_layers())
    before = sorted(os.listdir(folder))
    paths = [prototxt.patch(src), prototxt.patch(src, relu_out_of_place=True), prototxt.patch(src, batch_size=3)]
    assert sorted(os.listdir(folder)) == before == ["deploy.prototxt"]
    cache = tmp_path.joinpath(*CACHE)
    for path in paths:
        key = pathlib.Path(path).relative_to(cache).parts[0]
        assert path == str(cache / key / "deploy.patched.prototxt")
        caffe.Net(path, caffe.TEST)
    assert len(set(paths)) == 3


def test_prefinput_prototxt_cache_overrides_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFINPUT_PROTOTXT_CACHE", str(tmp_path / "elsewhere"))
    path = prototxt.patch(write(tmp_path / "c.prototxt", classifier_layers()))
    assert os.path.dirname(os.path.dirname(path)) == str(tmp_path / "elsewhere")
    assert not tmp_path.joinpath("cache").exists()


def test_a_source_under_nets_dir_gets_its_copy_beside_it(tmp_path):
    nets_dir = tmp_path / "nets"
    src = write(nets_dir / "caffenet" / "deploy.prototxt", classifier_layers())
    assert prototxt.patch(src) == str(nets_dir / "caffenet" / "deploy.patched.prototxt")
    other = prototxt.patch(src, relu_out_of_place=True)
    assert os.path.dirname(other) == str(nets_dir / "caffenet")
    assert other.startswith(str(nets_dir / "caffenet" / "deploy.patched-"))
    assert os.path.exists(prototxt.patch(src)) and other != prototxt.patch(src)
    assert not tmp_path.joinpath("cache").exists()


def test_nets_dir_is_compared_by_real_path(tmp_path, monkeypatch):
    src = write(tmp_path / "models" / "deploy.prototxt", classifier_layers())
    (tmp_path / "link").symlink_to(tmp_path / "models")
    monkeypatch.setenv("NETS_DIR", str(tmp_path / "link"))
    assert prototxt.patch(src) == str(tmp_path / "models" / "deploy.patched.prototxt")
    monkeypatch.setenv("NETS_DIR", str(tmp_path / "models"))
    linked = str(tmp_path / "link" / "deploy.prototxt")
    assert prototxt.patch(linked) == str(tmp_path / "link" / "deploy.patched.prototxt")


def test_the_copy_beside_a_source_is_rewritten_only_when_stale(tmp_path):
    src = write(tmp_path / "nets" / "c.prototxt", classifier_layers())
    path = prototxt.patch(src)
    os.utime(path, (1, 1))
    assert prototxt.patch(src) == path and os.stat(path).st_mtime == 1
    write(tmp_path / "nets" / "c.prototxt", with_input_dim(classifier_layers()))
    assert prototxt.patch(src) == path and os.stat(path).st_mtime != 1
    assert parsed(path).input_dim == [1, 3, 8, 8]


@pytest.mark.parametrize("folder", ["nets", "own"])  # the copy beside the source, or in the cache
@pytest.mark.parametrize("edit", [
    lambda header, body: header + body + 'layer { name: "extra" type: "ReLU" bottom: "out" top: "out" }\n',
    lambda header, body: header + body.replace("force_backward: true\n", ""),
    lambda header, body: header + str(with_input_dim(classifier_layers()))],
    ids=["a layer appended", "force_backward removed", "the header kept over other text"])
def test_an_edited_copy_is_made_again(tmp_path, folder, edit):
    src = write(tmp_path / folder / "c.prototxt", classifier_layers())
    path = prototxt.patch(src)
    good = open(path).read()
    lines = good.splitlines(keepends=True)
    header = "".join(line for line in lines if line.startswith("#"))
    edited = edit(header, good[len(header):])
    assert edited != good
    with open(path, "w") as f:
        f.write(edited)
    assert prototxt.patch(src) == path and open(path).read() == good


def test_the_same_content_in_two_folders_shares_one_cached_copy(tmp_path):
    first = write(tmp_path / "a" / "deploy.prototxt", classifier_layers())
    second = write(tmp_path / "b" / "deploy.prototxt", classifier_layers())
    path = prototxt.patch(first)
    os.utime(path, (1, 1))
    inode = os.stat(path).st_ino
    assert prototxt.patch(second) == path
    assert os.stat(path).st_mtime == 1 and os.stat(path).st_ino == inode
    assert os.listdir(os.path.dirname(path)) == ["deploy.patched.prototxt"]


def test_other_options_or_content_give_another_cached_copy(tmp_path):
    src = write(tmp_path / "c.prototxt", classifier_layers())
    path = prototxt.patch(src)
    os.utime(path, (1, 1))
    with_relu = prototxt.patch(src, relu_out_of_place=True)
    no_weights = prototxt.patch(src, weight_gradients=False)
    write(tmp_path / "c.prototxt", with_input_dim(classifier_layers()))
    changed = prototxt.patch(src)
    assert len({path, with_relu, no_weights, changed}) == 4
    assert os.stat(path).st_mtime == 1 and not parsed(path).input_dim  # the old copy is left as it was
    assert parsed(changed).input_dim == [1, 3, 8, 8]
    assert "relu1" in [layer.top[0] for layer in parsed(with_relu).layer]


def test_concurrent_patches_of_one_key_each_get_a_whole_file(tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    sources = [write(tmp_path / str(i) / "c.prototxt", classifier_layers()) for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        paths = set(pool.map(lambda src: prototxt.patch(src, drop_cudnn=True), sources))
    (path,) = paths
    assert os.listdir(os.path.dirname(path)) == ["c.patched.prototxt"]  # no leftover temporaries
    caffe.Net(path, caffe.TEST)


def test_a_cache_folder_that_cannot_be_made_is_a_user_error(tmp_path, monkeypatch):
    (tmp_path / "a file").write_text("")
    monkeypatch.setenv("PREFINPUT_PROTOTXT_CACHE", str(tmp_path / "a file" / "cache"))
    src = write(tmp_path / "c.prototxt", classifier_layers())
    with pytest.raises(UserError, match=r"cannot write the patched prototxt cache folder .*a file/cache/\w+: "
                                        r".*; set PREFINPUT_PROTOTXT_CACHE to a writable folder"):
        prototxt.patch(src)
    assert sorted(os.listdir(tmp_path)) == ["a file", "c.prototxt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_cache_folder_is_a_user_error(tmp_path, monkeypatch):
    cache = tmp_path / "ro-cache"
    cache.mkdir()
    cache.chmod(stat.S_IRUSR | stat.S_IXUSR)
    monkeypatch.setenv("PREFINPUT_PROTOTXT_CACHE", str(cache))
    try:
        with pytest.raises(UserError, match="set PREFINPUT_PROTOTXT_CACHE"):
            prototxt.patch(write(tmp_path / "c.prototxt", classifier_layers()))
    finally:
        cache.chmod(stat.S_IRWXU)


def test_a_read_only_folder_under_nets_dir_gets_its_copy_in_the_cache(tmp_path):
    folder = tmp_path / "nets" / "ro"
    src = write(folder / "c.prototxt", classifier_layers())
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        path = prototxt.patch(src)
        assert path.startswith(str(tmp_path.joinpath(*CACHE))) and path.endswith("/c.patched.prototxt")
        assert os.listdir(folder) == ["c.prototxt"]
        caffe.Net(path, caffe.TEST)
    finally:
        folder.chmod(stat.S_IRWXU)


def test_not_a_net_definition_is_one_line(tmp_path):
    src = write(tmp_path / "bad.prototxt", "layer { nonsense: 1 }")
    with pytest.raises(UserError, match="bad.prototxt is not a Caffe net definition"):
        prototxt.patch(src)


def test_patch_prototxt_sh_patches_a_users_prototxt(tmp_path):
    src = write(tmp_path / "mine.prototxt", classifier_layers())
    script = [str(REPO / "nets" / "patch_prototxt.sh"), src, "--relu-out-of-place", "--batch-size", "4"]
    env = {**os.environ, "PYTHON": sys.executable, "PREFINPUT_PROTOTXT_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([*script, "-o", str(tmp_path / "out.prototxt")], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "out.prototxt")
    net = parsed(str(tmp_path / "out.prototxt"))
    assert net.force_backward and net.layer[0].input_param.shape[0].dim[0] == 4
    assert [layer.top[0] for layer in net.layer if layer.type == "ReLU"] == ["relu1", "relu2"]
    done = subprocess.run(script, capture_output=True, text=True, timeout=120, env=env)  # no -o: the cache
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(tmp_path / "cache") + "/")
    assert parsed(done.stdout.strip()) == net
    assert sorted(os.listdir(tmp_path)) == ["cache", "mine.prototxt", "out.prototxt"]


# --- loading.load ------------------------------------------------------------

def test_load_gives_a_test_phase_net_from_the_patched_copy(tmp_path):
    src = write(tmp_path / "c.prototxt", classifier_layers())
    net = loading.load(src, relu_out_of_place=True)
    assert "relu1" in net.blobs
    assert np.abs(gradient_at_input(net, "out")).sum() > 0
    weights = str(tmp_path / "c.caffemodel")
    net.save(weights)
    again = loading.load(src, weights, relu_out_of_place=True)
    assert np.array_equal(again.params["fc"][0].data, net.params["fc"][0].data)


def test_load_reads_weights_of_the_shared_tiny_nets_without_writing_there():
    tiny = pathlib.Path(os.environ.get("SHARED_DIR") or REPO.parent / "shared") / "fixtures" / "tiny"
    if not tiny.is_dir():
        pytest.skip(f"no tiny fixtures at {tiny} (../shared is only on the project's machines)")
    before = sorted(os.listdir(tiny))
    net = loading.load(str(tiny / "generator.prototxt"), str(tiny / "generator.caffemodel"))
    assert net.blobs["deconv0"].data.shape[1:] == (3, 32, 32)
    assert sorted(os.listdir(tiny)) == before


def test_load_of_a_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="none.prototxt"):
        loading.load(str(tmp_path / "none.prototxt"))


def test_gpu_mode_on_a_cpu_only_caffe_is_a_user_error():
    if prototxt.caffe_links("libcudart"):
        pytest.skip("this Caffe is a CUDA build")
    with pytest.raises(UserError, match="CPU-only"):
        loading.set_mode(True)
    loading.set_mode("0")
