"""Hostile model files never crash the process: truncated, flipped, of the
wrong message type or declaring gigabytes, the tiny classifier's caffemodel
and prototxt either load or stop with one line (prefinput.modelcheck).  Each
case runs in its own process, so that a Caffe abort (exit 134) is a failure."""
import os
import random
import subprocess
import sys

import pytest

pytest.importorskip("caffe", reason="pycaffe is not importable (run make setup)")

LOAD = """
import sys
from prefinput import cli, nets
def main():
    nets.load(sys.argv[1], sys.argv[2])
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
