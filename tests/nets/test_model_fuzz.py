"""Hostile model files never crash the process: truncated, flipped, of the
wrong message type or declaring gigabytes, the tiny classifier's caffemodel
and prototxt either load or stop with one line (prefinput.netdefs.modelcheck).  Each
case runs in its own process, so that a Caffe abort (exit 134) is a failure.

Then a table of definitions and weights that make Caffe's own checks fail,
or hold NaN, or need more memory than the process may use: each is one line
naming the thing, the problem and the fix."""
import math
import os
import random
import re
import resource
import subprocess
import sys

import pytest

pytest.importorskip("caffe", reason="pycaffe is not importable (run make setup)")

LOAD = """
import sys
from prefinput import cli
from prefinput.netdefs import loading
def main():
    loading.load(sys.argv[1], sys.argv[2] if sys.argv[2] != "-" else None)
    print("loaded")
cli.run(main)
"""


def varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def cases(definition, weights):
    """(id, definition bytes, weights bytes), from a fixed seed."""
    from caffe.proto import caffe_pb2
    rng = random.Random(12)
    text, data = open(definition, "rb").read(), open(weights, "rb").read()
    found = []
    for n in sorted(rng.sample(range(1, len(data)), 8)):
        found.append((f"weights cut at {n}", text, data[:n]))
    for _ in range(10):
        i, bit = rng.randrange(len(data)), rng.randrange(8)
        found.append((f"weights byte {i} bit {bit} flipped", text, data[:i] + bytes([data[i] ^ 1 << bit]) + data[i + 1:]))
    for n in sorted(rng.sample(range(1, len(text)), 4)):
        found.append((f"definition cut at {n}", text[:n], data))
    for _ in range(2):
        i = rng.randrange(len(text))
        found.append((f"definition byte {i} made binary", text[:i] + b"\xff" + text[i + 1:], data))
    found.append(("a SolverParameter as weights", text, caffe_pb2.SolverParameter(base_lr=0.1, max_iter=5).SerializeToString()))
    found.append(("a BlobProto as weights", text, caffe_pb2.BlobProto(data=[1.0] * 100).SerializeToString()))
    layer_tag = varint(100 << 3 | 2)  # NetParameter.layer, length-delimited
    found.append(("a layer claiming 3 GB", text, data + layer_tag + varint(3 << 30) + b"\0" * 64))
    found.append(("a blob claiming 3 GB", text, data + layer_tag + varint(10) + b"\x0a\x03fc8" + b"\x3a" + varint(3 << 30)))
    return found


@pytest.fixture(scope="module")
def files(tiny, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    made = []
    for number, (name, text, data) in enumerate(cases(*tiny["classifier"])):
        definition, weights = folder / f"{number}.prototxt", folder / f"{number}.caffemodel"
        definition.write_bytes(text)
        weights.write_bytes(data)
        made.append((name, str(definition), str(weights)))
    huge = folder / "huge.caffemodel"
    with open(huge, "wb") as f:  # sparse: more than Caffe reads, without the disk
        f.truncate(2**31 + 10)
    made.append(("a file over 2 GB", tiny["classifier"][0], str(huge)))
    return made


def test_every_hostile_model_file_loads_or_is_one_line(files, repo, tmp_path):
    env = dict(os.environ, GLOG_minloglevel="2", OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(repo),
               PREFINPUT_PROTOTXT_CACHE=str(tmp_path / "prototxt"))
    outcomes = {}
    for name, definition, weights in files:
        done = subprocess.run([sys.executable, "-c", LOAD, definition, weights], env=env, capture_output=True,
                              text=True, timeout=60)
        clean = (done.returncode == 0 and done.stdout.strip() == "loaded") or (
            done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
            and done.stderr.startswith("-c: error: "))
        assert clean, f"{name}: exit {done.returncode}\n{done.stdout[-1000:]}{done.stderr[-2000:]}"
        outcomes[name] = done.returncode
    assert outcomes["a SolverParameter as weights"] == outcomes["a file over 2 GB"] == 2
    assert sorted(set(outcomes.values())) == [0, 2]  # some flips only change values: those load


# --- the table: (id, change to the definition's text, change to the weights or
# None for no weights, the one line's pattern, the address-space limit in GB or None)
def replace(old, new, count=1):
    def change(text):
        assert text.count(old) >= count, old
        return text.replace(old, new, count)
    return change


def weights_with(layer, value):
    """The caffemodel with one value of `layer`'s first blob replaced by `value`."""
    def change(data):
        from caffe.proto import caffe_pb2
        net = caffe_pb2.NetParameter()
        net.ParseFromString(data)
        (found,) = [each for each in net.layer if each.name == layer]
        found.blobs[0].data[3] = value
        return net.SerializeToString()
    return change


def batch_norm_with_negative_variance(data):
    """The caffemodel with weights for a BatchNorm after fc7 whose variance is negative."""
    from caffe.proto import caffe_pb2
    net = caffe_pb2.NetParameter()
    net.ParseFromString(data)
    layer = net.layer.add(name="bn7", type="BatchNorm")
    for values in ([0.0] * 64, [1.0] * 63 + [-4.0], [1.0]):
        layer.blobs.add(data=values).shape.dim.extend([len(values)])
    return net.SerializeToString()


BATCH_NORM = 'layer { name: "bn7" type: "BatchNorm" bottom: "fc7" top: "fc7" }\nlayer {\n  name: "fc8"'
PYTHON_LAYER = """layer { name: "py" type: "Python" bottom: "fc8" top: "py" python_param { module: "marker" layer: "L" } }
"""
CAFFE_REFUSES = r"^-c: error: layer {layer} of \S*\.prototxt: Caffe cannot build this net \(\S+: {check}.*\); fix the definition$"
TOO_LARGE = r"^-c: error: layer {layer} of \S*\.prototxt: too large for Caffe \(.*{what}.*\); make the net, its input or the batch smaller$"
ROWS = [
    ("a bottom no layer makes", replace('bottom: "pool1"', 'bottom: "nonesuch"'), None,
     r"^-c: error: \S*\.prototxt: Caffe cannot build this net \(insert_splits\.cpp:\d+: Unknown bottom blob "
     r"'nonesuch' \(layer 'conv2', bottom index 0\)\); fix the definition$"),
    ("an input dimension of 0", replace("dim: 1\n", "dim: 0\n"), None,
     r"^-c: error: \S*\.prototxt: the input data is 0x3x27x27; give every input dimension a size of at least 1$"),
    ("a negative input dimension", replace("dim: 27", "dim: -5"), None,
     r"^-c: error: \S*\.prototxt: the input data is 1x3x-5x27; give every input dimension a size of at least 1$"),
    ("a huge input dimension", replace("dim: 27", "dim: 3000000000"), None,
     r"^-c: error: \S*\.prototxt: the input data is 1x3x3000000000x27, more than the 2147483647 values a Caffe blob "
     r"holds; make the net, its input or the batch smaller$"),
    ("a stride of 0", replace("stride: 2", "stride: 0"), None,
     CAFFE_REFUSES.format(layer="conv1", check=r"Check failed: stride_data\[i\] > 0")),
    ("a kernel larger than its input", replace("kernel_size: 5", "kernel_size: 50"), None,
     CAFFE_REFUSES.format(layer="conv1", check=r"Check failed: shape\[i\] >= 0")),
    ("a blob over INT_MAX values", replace("num_output: 8\n", "num_output: 100000000\n"), None,
     TOO_LARGE.format(layer="conv1", what="blob size exceeds INT_MAX")),
    ("weights over the memory limit", replace("num_output: 64\n", "num_output: 10000000\n"), None,
     TOO_LARGE.format(layer="fc6", what="allocation"), 4),
    ("blobs over the memory limit", replace("dim: 1\n", "dim: 400000\n"), None,
     r"^-c: error: \S*\.prototxt: the net needs about \d+\.\d GB of memory \(its blobs' values and gradients\), more "
     r"than the \d+(\.\d)? [GM]B available; make the net, its input or the batch smaller$", 4),
    ("a NaN in the weights", None, weights_with("conv2", math.nan),
     r"^-c: error: conv2: the weights in \S*\.caffemodel are broken: blob 0 holds NaN or infinite values; fetch the "
     r"caffemodel again or fix the model$"),
    ("an infinity in the weights", None, weights_with("fc7", -math.inf),
     r"^-c: error: fc7: the weights in \S*\.caffemodel are broken: blob 0 holds NaN or infinite values"),
    ("a BatchNorm with a negative variance", replace('layer {\n  name: "fc8"', BATCH_NORM),
     batch_norm_with_negative_variance,
     r"^-c: error: bn7: the weights in \S*\.caffemodel are broken: this BatchNorm has a negative variance, which "
     r"makes NaN; fetch the caffemodel again or fix the model$"),
    ("a Python layer", lambda text: text + PYTHON_LAYER, None,
     r"^-c: error: py: \S*\.prototxt has a Python layer, which would import and run the module its python_param "
     r"names; pass --allow_python_layers \(or set PREFINPUT_ALLOW_PYTHON_LAYERS=1\) if you trust it$"),
]


def limited_to(gigabytes):
    """A preexec_fn: the address space of the process limited (ulimit -v)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (gigabytes << 30, resource.RLIM_INFINITY))
    return limit if gigabytes else None


@pytest.mark.parametrize("change_definition, change_weights, line, gigabytes",
                         [(*row[1:4], row[4] if len(row) > 4 else None) for row in ROWS], ids=[row[0] for row in ROWS])
def test_a_definition_or_weights_caffe_would_abort_on_is_one_line(change_definition, change_weights, line, gigabytes,
                                                                  tiny, repo, tmp_path):
    text, data = open(tiny["classifier"][0]).read(), open(tiny["classifier"][1], "rb").read()
    definition, weights = tmp_path / "net.prototxt", tmp_path / "net.caffemodel"
    definition.write_text(change_definition(text) if change_definition else text)
    weights.write_bytes(change_weights(data) if change_weights else data)
    (tmp_path / "marker.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\n")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(repo), str(tmp_path)]),
               PREFINPUT_PROTOTXT_CACHE=str(tmp_path / "prototxt"), PREFINPUT_MODELCHECK_CACHE=str(tmp_path / "check"))
    env.pop("PREFINPUT_ALLOW_PYTHON_LAYERS", None)
    done = subprocess.run([sys.executable, "-c", LOAD, str(definition), str(weights) if change_weights else "-"],
                          env=env, capture_output=True, text=True, timeout=120, preexec_fn=limited_to(gigabytes))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, f"exit {done.returncode}\n{done.stderr[-3000:]}"
    assert re.search(line, done.stderr), done.stderr
    assert not (tmp_path / "imported").exists()  # the Python layer's module never ran


def test_a_python_layer_runs_only_when_allowed(tiny, repo, tmp_path):
    definition = tmp_path / "net.prototxt"
    definition.write_text(open(tiny["classifier"][0]).read() + PYTHON_LAYER)
    (tmp_path / "marker.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\n")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(repo), str(tmp_path)]),
               PREFINPUT_PROTOTXT_CACHE=str(tmp_path / "prototxt"), PREFINPUT_MODELCHECK_CACHE=str(tmp_path / "check"),
               PREFINPUT_ALLOW_PYTHON_LAYERS="1")
    done = subprocess.run([sys.executable, "-c", LOAD, str(definition), "-"], env=env, capture_output=True, text=True,
                          timeout=120)
    # allowed: Caffe imports the module (which has no layer L: Caffe's own error, still one line)
    assert (tmp_path / "imported").exists()
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-3000:]
