#!/usr/bin/env python3
"""Benchmark: what a sum of units costs against one unit (prefinput.objectives).

One forward and backward pass of CaffeNet (the reference prototxt, random
weights, no weight gradients, as act_max.py loads it) to the image, for one
unit and for sums whose terms sit in one blob or in several (the pass cut at
each blob's layer, every diff zeroed first); rounds interleave the sums so
that the ratios are fair on a busy machine.  Prints ms per pass and the
ratio to one unit.

    .venv/bin/python bench/objective_cost.py       # about 20 seconds here
"""
import argparse
import os
import sys
import time

os.environ.setdefault("GLOG_minloglevel", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from prefinput import objectives  # noqa: E402
from prefinput.netdefs import loading  # noqa: E402
from prefinput.steps import input_blob  # noqa: E402

SUMS = ["fc8:980", "fc8:980 + fc8:470", "fc8:980 + conv5:196@6,6", "fc8:980 + conv5:196 - 0.5*conv3:7"]
CAFFENET = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "reference",
                        "synthesizing", "nets", "caffenet", "caffenet.prototxt")


def seconds_per_pass(net, objective, image, passes):
    data = input_blob(net)
    start = time.perf_counter()
    for _ in range(passes):
        objectives.forward(net, [objective], **{data: image})
        objectives.backward(net, [objective], diffs=[data])
    return (time.perf_counter() - start) / passes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--net_definition", default=CAFFENET)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--passes", type=int, default=4, help="passes per sum and round")
    args = parser.parse_args()
    net = loading.load(args.net_definition, weight_gradients=False)
    image = np.random.RandomState(0).normal(0, 30, net.blobs[input_blob(net)].data.shape).astype(np.float32)
    parsed = [objectives.parse(text) for text in SUMS]
    for objective in parsed:  # warm up
        seconds_per_pass(net, objective, image, 1)
    times = {text: [] for text in SUMS}
    for _ in range(args.rounds):
        for text, objective in zip(SUMS, parsed):
            times[text].append(seconds_per_pass(net, objective, image, args.passes))
    one = np.median(times[SUMS[0]])
    for text in SUMS:
        median = np.median(times[text])
        print("%-36s %7.1f ms  x%.2f" % (text, 1000 * median, median / one))


if __name__ == "__main__":
    main()
