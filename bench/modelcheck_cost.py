#!/usr/bin/env python3
"""Benchmark: what the model check (prefinput.netdefs.modelcheck) adds to loading a net.

Per definition and caffemodel (a missing caffemodel is first made with the
definition's random filler weights): the sha256s of the patched definition
and the weights (once per file: then remembered by path, size and mtime),
the child process that builds the net and checks the weights, a check whose
verdict is remembered, and Caffe's own load for comparison; the best of
--rounds, each with an empty verdict cache.

    .venv/bin/python bench/modelcheck_cost.py                    # the tiny nets and CaffeNet (../shared)
    .venv/bin/python bench/modelcheck_cost.py DEPLOY.prototxt WEIGHTS.caffemodel --rounds 3
"""
import os

os.environ.setdefault("GLOG_minloglevel", "2")

import argparse
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEFAULTS = [(SHARED / "fixtures/tiny/classifier.prototxt", SHARED / "fixtures/tiny/classifier.caffemodel"),
            (SHARED / "fixtures/tiny/generator.prototxt", SHARED / "fixtures/tiny/generator.caffemodel"),
            (SHARED / "reference/synthesizing/nets/caffenet/caffenet.prototxt",
             Path(tempfile.gettempdir()) / "caffenet_random_weights.caffemodel")]


def seconds(action):
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(definition, weights, rounds):
    import caffe
    from prefinput.netdefs import modelcheck, prototxt
    definition, weights = str(definition), str(weights)
    if not os.path.exists(weights):
        caffe.Net(definition, caffe.TEST).save(weights)
        os.utime(weights, (time.time() - 60,) * 2)  # an old file: its sha256 may be remembered
    patched = prototxt.patch(definition)
    best = {}
    for _ in range(rounds):
        os.environ["PREFINPUT_MODELCHECK_CACHE"] = tempfile.mkdtemp()
        times = {"hashing": seconds(lambda: [modelcheck.file_sha256(path) for path in (patched, weights)]),
                 "child": seconds(lambda: modelcheck.check_in_child(patched, weights, definition, False))}
        modelcheck.check(patched, weights, definition)
        times["cached"] = seconds(lambda: modelcheck.check(patched, weights, definition))
        times["load"] = seconds(lambda: caffe.Net(patched, caffe.TEST, weights=weights))
        best = {name: min(best.get(name, value), value) for name, value in times.items()}
    print(f"{os.path.basename(definition)} ({os.path.getsize(weights) / 2**20:.1f} MB of weights): hashing "
          f"{best['hashing']:.2f} s, child process {best['child']:.2f} s, remembered verdict "
          f"{best['cached'] * 1000:.2f} ms; Caffe's own load {best['load']:.2f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="DEFINITION WEIGHTS pairs (default: the tiny nets and CaffeNet)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    pairs = list(zip(args.files[::2], args.files[1::2])) or DEFAULTS
    os.environ.setdefault("PREFINPUT_PROTOTXT_CACHE", tempfile.mkdtemp())
    for definition, weights in pairs:
        measure(definition, weights, args.rounds)


if __name__ == "__main__":
    main()
