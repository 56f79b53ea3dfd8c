#!/usr/bin/env python3
"""Benchmark: a DGN-AM sweep (units x iterations) the original's way and through sweep.py.

On the real architectures (CaffeNet to fc8, the fc6 generator) with random
weights (bench/random_nets.py), every mode in its own processes, loading included:

  original        a process per unit (bench/original.py), as the shell loops ran it
  one process     act_max.py --unit U1 ... Un
  sweep N         sweep.py act_max with N one-thread workers (a LocalCluster)
  sweep N batch K the same, K units a pass

with unit-iterations per second, the ratio of the time to the original's,
the peak memory of a worker, and how the wall time grows with the points.

    .venv/bin/python bench/sweep_speed.py --net_definition caffenet.prototxt --generator_definition generator.prototxt
"""
import os
import sys

os.environ.setdefault("GLOG_minloglevel", "2")

import argparse
import tempfile
import time
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from bench import measure, random_nets  # noqa: E402
from bench.run import SWEEP  # noqa: E402
from prefinput.cli import add_setting_flags, run  # noqa: E402
from prefinput.netdefs import prototxt  # noqa: E402

PINNED = {"OPENBLAS_NUM_THREADS": "1"}  # one thread a process, as the sweep's workers run


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__[__doc__.index("    .venv"):])
    parser.add_argument("--units", type=int, default=20, help="units in the sweep")
    parser.add_argument("--iters", type=int, default=20, help="iterations per unit")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, len(os.sched_getaffinity(0))],
                        help="worker counts of the sweep.py modes")
    parser.add_argument("--batch", type=int, default=5, help="units a pass in the batched mode")
    parser.add_argument("--growth", type=int, nargs="*", default=[10, 20, 40],
                        help="points of the growth runs (the largest worker count, batch 1); none: skip")
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "prefinput-bench"),
                        help="where the random weights are made once")
    add_setting_flags(parser, ["net_definition", "generator_definition"])
    return parser.parse_args(argv)


def run_tree(command, env):
    """Run `command`; (wall seconds, the largest peak resident memory of its child processes in bytes)."""
    import psutil
    start = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        peaks = {}
        while process.poll() is None:
            for child in psutil.Process(process.pid).children(recursive=True):
                peaks[child.pid] = max(peaks.get(child.pid, 0), measure.resident_peak(child.pid))
            time.sleep(0.1)
        seconds = time.perf_counter() - start
        if process.returncode != 0:
            log.seek(0)
            raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n"
                               f"{log.read().decode(errors='replace')[-2000:]}")
    return seconds, max(peaks.values(), default=0)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.cache, exist_ok=True)
    classifier = random_nets.reference_copy(args.net_definition, args.cache, "caffenet")
    generator = random_nets.reference_copy(args.generator_definition, args.cache, "generator")
    weights = {classifier: random_nets.random_weights(classifier, "data", 50.0), generator: random_nets.random_weights(generator,
                                                                                                         "feat")}
    bound = random_nets.bound_file(args.cache, 4096)
    units = [str(unit * 1000 // args.units) for unit in range(args.units)]
    python, env = sys.executable, dict(os.environ, **PINNED)
    common = ["--n_iters", str(args.iters), "--bound", bound, "--L2", str(SWEEP["L2"]), "--start_lr",
              str(SWEEP["start_lr"]), "--end_lr", str(SWEEP["end_lr"]), "--seed", str(SWEEP["seed"]), "--offline",
              "--net_definition", classifier, "--net_weights", weights[classifier],
              "--generator_definition", generator, "--generator_weights", weights[generator]]
    original = ["--n_iters", str(args.iters), "--bound", bound,
                "--net_definition", prototxt.patch(classifier), "--net_weights", weights[classifier],
                "--generator_definition", prototxt.patch(generator), "--generator_weights", weights[generator]]

    def sweep(output, workers, batch, swept):
        return [python, str(REPO / "sweep.py"), "act_max", "--unit", *swept, *common, "--batch", str(batch),
                "--workers", str(workers), "--quiet", "--output_dir", output]

    rows = []
    with tempfile.TemporaryDirectory() as output:
        seconds, peak = 0.0, 0
        for unit in units:
            spent, rss = measure.run_process([python, str(REPO / "bench" / "original.py"), "--unit", unit,
                                              *original, "--output_dir", os.path.join(output, "original")])
            seconds, peak = seconds + spent, max(peak, rss)
        rows.append(("original (a process a unit)", seconds, peak))
        rows.append(("one process", *measure.run_process(
            [python, str(REPO / "act_max.py"), "--unit", *units, *common, "--output_dir",
             os.path.join(output, "one")])))
        for workers in args.workers:
            rows.append((f"sweep.py, {workers} workers", *run_tree(
                sweep(os.path.join(output, f"sweep{workers}"), workers, 1, units), env)))
        most = max(args.workers)
        rows.append((f"sweep.py, {most} workers, batch {args.batch}", *run_tree(
            sweep(os.path.join(output, f"batched{most}"), most, args.batch, units), env)))
        growth = [(points, run_tree(sweep(os.path.join(output, f"growth{points}"), most, 1,
                                          [str(unit) for unit in range(points)]), env)[0]) for points in args.growth]

    unit_iterations = len(units) * args.iters
    print(f"DGN-AM sweep, {len(units)} units x {args.iters} iterations, random weights, loading included:")
    print(f"  {'mode':<34}{'seconds':>9}{'unit-iter/s':>12}{'x original':>11}{'peak RSS MiB':>13}")
    for name, seconds, peak in rows:
        print(f"  {name:<34}{seconds:>9.1f}{unit_iterations / seconds:>12.2f}{seconds / rows[0][1]:>11.2f}"
              f"{peak / 2 ** 20:>13.0f}")
    print("  (peak RSS: the process's, or a sweep's largest worker's)")
    if growth:
        print(f"wall time against points ({most} workers, {args.iters} iterations): " +
              ", ".join(f"{points}: {seconds:.1f} s" for points, seconds in growth))


if __name__ == "__main__":
    run(main)
