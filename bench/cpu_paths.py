#!/usr/bin/env python3
"""Benchmark: what the goldens' numpy routines cost cnn-vis.

`import prefinput` turns numpy's AVX-512 routines off where the user has not
chosen (prefinput/cpu.py), so that every CPU computes float64 `x ** p`,
`log` and `exp` with the C library, as the goldens were made.  cnn_vis.py's
p-norm and TV regularisers raise the whole image to such powers at every
step.  This runs cnn_vis.py (p-norm and TV on) as whole processes, in turn:

  C library   the default (NPY_DISABLE_CPU_FEATURES chosen by prefinput)
  AVX-512     NPY_DISABLE_CPU_FEATURES="" (numpy's own routines, where the CPU has them)

on the tiny classifier of ../shared (Caffe's share small: the most the
choice can cost) and on GoogLeNet with random weights (bench/random_nets.py, as
cnn-vis's examples run), and prints each median, the ratio and whether the
two saved arrays are equal.

    .venv/bin/python bench/cpu_paths.py              # about 4 minutes here
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]
import prefinput  # noqa: E402,F401  before numpy loads

import argparse  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402

from bench import measure, random_nets  # noqa: E402
from bench.run import largest_difference, rotated  # noqa: E402
from prefinput import cpu  # noqa: E402
from prefinput.cli import run  # noqa: E402

SHARED = REPO.parent / "shared"
MODES = {"C library": {}, "AVX-512": {"NPY_DISABLE_CPU_FEATURES": ""}}
REGULARISED = ["--p_reg", "1e-4", "--alpha", "6.0", "--tv_reg", "0.5", "--beta", "2.5", "--iter_behavior", "",
               "--image_type", "amplify_layer", "--seed", "0", "--save_raw"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each mode per net (default 5)")
    parser.add_argument("--googlenet", default=str(SHARED / "reference" / "caffe" / "models" / "bvlc_googlenet"
                                                   / "deploy.prototxt"),
                        help="GoogLeNet's deploy prototxt (default: ../shared/reference's); '' skips it")
    return parser.parse_args(argv)


def cases(args, cache):
    """(name, cnn_vis.py flags) of each net to time."""
    tiny = SHARED / "fixtures" / "tiny"
    mean = SHARED / "reference" / "cnnpref" / "data" / "ilsvrc_2012_mean.npy"
    yield ("tiny classifier, 512x512, 20 steps",
           ["--deploy_txt", str(tiny / "classifier.prototxt"), "--caffe_model", str(tiny / "classifier.caffemodel"),
            "--mean_image", str(mean), "--target_layer", "conv3", "--initial_size", "512x512", "--num_steps", "20"])
    if args.googlenet:
        definition = random_nets.reference_copy(args.googlenet, cache, "googlenet")
        yield ("GoogLeNet (random weights), 270x480, 5 steps",
               ["--deploy_txt", definition, "--caffe_model", random_nets.random_weights(definition, "data", 50.0),
                "--mean_image", str(mean),
                "--target_layer", "inception_4c/output", "--initial_size", "270x480", "--num_steps", "5",
                "--batch_size", "1"])


def time_modes(flags, rounds, folder):
    """{mode: (median seconds, the saved image)}, the modes in turn."""
    seconds = {mode: [] for mode in MODES}
    for rep in range(rounds):
        for mode in rotated(MODES, rep):
            output = os.path.join(folder, f"{list(MODES).index(mode)}.png")
            wall, _ = measure.run_process([sys.executable, str(REPO / "cnn_vis.py"), *REGULARISED, *flags,
                                           "--output_file", output], env=MODES[mode])
            seconds[mode].append(wall)
    images = {}
    for index, mode in enumerate(MODES):
        with np.load(os.path.join(folder, f"{index}.npz")) as raw:
            images[mode] = raw["image"]
    return {mode: (float(np.median(seconds[mode])), images[mode]) for mode in MODES}


def main(argv=None):
    args = parse_args(argv)
    print(f"bench: numpy's AVX-512 routines on this CPU: {'avx512f' in cpu.cpu_flags()}; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    with tempfile.TemporaryDirectory() as cache:
        for name, flags in cases(args, cache):
            result = time_modes(flags, args.rounds, cache)
            (ours, ours_image), (avx, avx_image) = result["C library"], result["AVX-512"]
            print(f"{name}: C library {ours:.2f} s, AVX-512 {avx:.2f} s (medians of {args.rounds} processes); "
                  f"C library / AVX-512 = {ours / avx:.3f}; arrays equal: {np.array_equal(ours_image, avx_image)} "
                  f"(largest difference {largest_difference({0: ours_image}, {0: avx_image}):.2g})")


if __name__ == "__main__":
    run(main)
