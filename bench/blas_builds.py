#!/usr/bin/env python3
"""Benchmark: the act_max iteration on Caffe builds that differ only in their BLAS.

Each build (a prefix of docker/build_caffe.sh --blas NAME --prefix DIR) runs
bench/run.py's act_max timing -- the original loop, faithful, batched -- in a
process of its own with that prefix's pycaffe first on PYTHONPATH; the
builds take turns in rounds, so that their ratios are measured side by side.
Per build: ms per unit-iteration of each mode, the ratio to the Debian
OpenBLAS build's original loop, and whether the original loop and ours agree
bit for bit on that build (they must: that is what faithful means there).
A build given as PREFIX,VAR=VALUE,... runs with those variables set (the
same build may come twice, e.g. with other OPENBLAS_CORETYPE kernels).

    .venv/bin/python bench/blas_builds.py                          # build/caffe and every build/caffe-*; a few minutes
    .venv/bin/python bench/blas_builds.py build/caffe build/caffe-mkl --rounds 5
    .venv/bin/python bench/blas_builds.py build/caffe build/caffe,OPENBLAS_CORETYPE=SkylakeX --threads 1
"""
import os
import sys

os.environ.setdefault("GLOG_minloglevel", "2")

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]
import prefinput  # noqa: E402,F401  before numpy loads: the goldens' numbers on every CPU (prefinput/cpu.py)

import numpy as np  # noqa: E402

from bench.run import largest_difference, rotated  # noqa: E402  (bench.run imports Caffe only inside its functions)
from prefinput.cli import add_setting_flags, run  # noqa: E402
from prefinput.errors import UserError  # noqa: E402

REFERENCE = "openblas"  # Debian's OpenBLAS: the goldens' environment, the ratios' denominator
BLAS_LIBRARIES = ("libopenblas", "libblis", "libmkl_rt", "libscipy_openblas")
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS", "MKL_NUM_THREADS")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("builds", nargs="*", metavar="PREFIX[,VAR=VALUE...]",
                        help="Caffe prefixes, each with the environment variables of its turns (default: "
                             "build/caffe and every build/caffe-* with a BUILD_INFO)")
    parser.add_argument("--rounds", type=int, default=3, help="turns of every build (the median is reported)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each mode in a turn (its median)")
    parser.add_argument("--steps", type=int, default=3, help="iterations per repetition")
    parser.add_argument("--batch", type=int, default=5, help="units per pass in the batched mode")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="BLAS threads (OPENBLAS_NUM_THREADS, BLIS_NUM_THREADS, MKL_NUM_THREADS; "
                             "default: the cores)")
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "prefinput-bench"),
                        help="folder for the random caffemodels (as bench/run.py's)")
    parser.add_argument("--worker", nargs=2, metavar=("RESULT", "IMAGES"), help=argparse.SUPPRESS)
    add_setting_flags(parser, ["net_definition", "generator_definition", "ppgn_generator_definition"])
    parser.epilog = __doc__[__doc__.index("    .venv"):] + "\n" + parser.epilog
    return parser.parse_args(argv)


# --- in each build's process -----------------------------------------------------

def worker(args):
    """One turn of one build: bench/run.py's act_max modes, interleaved;
    the result as JSON, the faithful images as .npz."""
    import caffe
    from bench import run as bench_run
    n = bench_run.Nets(bench_run.parse_args(
        ["--cache", args.cache, "--net_definition", args.net_definition,
         "--generator_definition", args.generator_definition,
         "--ppgn_generator_definition", args.ppgn_generator_definition]))
    batched = f"batched {args.batch}"
    modes = {name: mode for name, mode in bench_run.actmax_modes(n, args.steps, args.batch).items()
             if name in ("original", "faithful", batched)}
    results = bench_run.interleaved(modes, args.reps)
    # What this process really loaded (MKL loads its kernels on first use), numpy's and SciPy's own BLAS aside
    with open("/proc/self/maps") as maps:
        loaded = sorted({line.split()[-1] for line in maps if "site-packages" not in line
                         and any(name in line for name in BLAS_LIBRARIES + ("libcaffe", "libmkl_", "libiomp5"))})
    result = {"caffe": caffe.__file__, "loaded": loaded, "config": blas_config(loaded),
              "seconds": {name: seconds for name, (seconds, _) in results.items()},
              "differences": {name: largest_difference(results[name][1], results["faithful"][1])
                              for name in ("original", batched)},
              "lines": [bench_run.compare(results, name) for name in ("original", batched)]}
    Path(args.worker[0]).write_text(json.dumps(result))
    np.savez(args.worker[1], **{str(unit): image for unit, image in results["faithful"][1].items()})


def blas_config(loaded):
    """What the BLAS this process loaded says of itself: version, and the
    kernels it chose for this CPU (OPENBLAS_CORETYPE overrides OpenBLAS's)."""
    import ctypes
    for path in loaded:
        name = os.path.basename(path)
        try:
            library = ctypes.CDLL(path)
            if name.startswith(("libopenblas", "libscipy_openblas")):
                prefix = "scipy_" if name.startswith("libscipy") else ""
                function = getattr(library, prefix + "openblas_get_config")
                function.restype = ctypes.c_char_p
                return function().decode().strip()
            if name.startswith("libblis"):
                library.bli_info_get_version_str.restype = ctypes.c_char_p
                library.bli_arch_string.restype = ctypes.c_char_p
                return (f"BLIS {library.bli_info_get_version_str().decode()}, "
                        f"{library.bli_arch_string(library.bli_arch_query_id()).decode()} kernels")
            if name.startswith("libmkl_rt"):
                buffer = ctypes.create_string_buffer(256)
                library.MKL_Get_Version_String(buffer, len(buffer))
                return buffer.value.decode().strip()
        except (OSError, AttributeError) as error:
            return f"{name}: no version ({error})"
    return "no BLAS found"


# --- the driver ------------------------------------------------------------------

def build_info(prefix):
    """BUILD_INFO as a dict; a build from before --blas existed is Debian's OpenBLAS."""
    path = prefix / "BUILD_INFO"
    if not path.is_file():
        raise UserError(f"{prefix}: no BUILD_INFO, not a prefix of docker/build_caffe.sh")
    info = dict(line.split("=", 1) for line in path.read_text().split())
    info.setdefault("blas", REFERENCE)
    return info


def linked_blas(prefix):
    """`libX.so => /path` for the BLAS libcaffe.so loads, as ldd resolves it."""
    out = subprocess.run(["ldd", str(prefix / "lib" / "libcaffe.so")], capture_output=True, text=True).stdout
    lines = [line.split(" (")[0].strip() for line in out.splitlines() if any(n in line for n in BLAS_LIBRARIES)]
    return ", ".join(lines) or "no BLAS found by ldd"


class Build:
    """A prefix and the variables its turns run with; `name` is its BLAS and those."""

    def __init__(self, spec):
        path, *settings = spec.split(",")
        self.prefix = Path(path).resolve()
        if not (self.prefix / "lib" / "python3" / "dist-packages" / "caffe").is_dir():
            raise UserError(f"{path}: no pycaffe in lib/python3/dist-packages; build it with "
                            "docker/build_caffe.sh --prefix")
        bad = [setting for setting in settings if "=" not in setting]
        if bad:
            raise UserError(f"{spec}: '{bad[0]}' is not VAR=VALUE")
        self.env = dict(setting.split("=", 1) for setting in settings)
        self.info = build_info(self.prefix)
        self.name = " ".join([self.info["blas"]] + settings)

    def reference(self):
        return self.info["blas"] == REFERENCE and not self.env


def find_builds(specs):
    """[Build], the reference (Debian's OpenBLAS, no variables) first."""
    if not specs:
        prefixes = [REPO / "build" / "caffe"] + sorted((REPO / "build").glob("caffe-*"))
        specs = [str(prefix) for prefix in prefixes if (prefix / "BUILD_INFO").is_file()]
    builds = []
    for spec in specs:
        build = Build(spec)
        while build.name in [other.name for other in builds]:
            build.name += "'"
        builds.append(build)
    builds.sort(key=lambda build: not build.reference())
    if not builds or not builds[0].reference():
        raise UserError(f"no build of Debian's OpenBLAS among {', '.join(specs) or 'none'}: the ratios need "
                        "one (docker/build_caffe.sh makes it into build/caffe)")
    return builds


def run_turn(args, build, folder):
    """One build's turn in its own process; its result dict and faithful images."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(build.prefix / "lib" / "python3" / "dist-packages"),
                                                        str(REPO)]))
    env.update({variable: str(args.threads) for variable in THREAD_VARIABLES})
    env.update(build.env)
    result, images = folder / "result.json", folder / "images.npz"
    command = [sys.executable, __file__, "--worker", str(result), str(images), "--steps", str(args.steps),
               "--reps", str(args.reps), "--batch", str(args.batch), "--cache", args.cache,
               "--net_definition", args.net_definition, "--generator_definition", args.generator_definition,
               "--ppgn_generator_definition", args.ppgn_generator_definition]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise UserError(f"the turn of {build.name} failed (exit {done.returncode}): "
                        f"{(done.stderr.strip().splitlines() or ['no output'])[-1]}")
    with np.load(images) as data:
        return json.loads(result.read_text()), {int(unit): data[unit] for unit in data.files}


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    builds = find_builds(args.builds)
    for flag in ("net_definition", "generator_definition", "ppgn_generator_definition"):
        if not os.path.isfile(getattr(args, flag)):
            raise UserError(f"--{flag} {getattr(args, flag)}: not found; fetch it with nets/download.sh or "
                            "point the flag at a copy (see bench/run.py --help)")
    load = os.getloadavg()
    print(f"bench/blas_builds.py: {len(os.sched_getaffinity(0))} cores, {args.threads} BLAS threads, load average "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the start; {args.rounds} rounds of {len(builds)} builds, "
          f"each turn {args.reps} x {args.steps} iterations of every mode")
    width = max(len(build.name) for build in builds) + 2
    for build in builds:
        print(f"  {build.name:<{width}}{os.path.relpath(build.prefix)}, key {build.info.get('key', '?')}: "
              f"{linked_blas(build.prefix)}")
    if len({build.info.get("patches") for build in builds}) > 1:
        print("  warning: these builds differ in their patches (BUILD_INFO's patches=; none: built before it was "
              "recorded), so their differences are not the BLAS's alone")

    seconds = {build.name: [] for build in builds}
    last = {}
    with tempfile.TemporaryDirectory() as scratch:
        for turn in range(args.rounds):
            for index, build in enumerate(rotated(builds, turn)):
                folder = Path(scratch) / f"{turn}-{index}"
                folder.mkdir()
                last[build.name] = run_turn(args, build, folder)
                seconds[build.name].append(last[build.name][0]["seconds"])
            print(f"  round {turn + 1} done, load average {os.getloadavg()[0]:.1f}", flush=True)
    faithful = report(args, builds, seconds, last)
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end")
    return 0 if faithful else 1


def report(args, builds, seconds, last):
    """The table, and the bit-for-bit lines; True where original and faithful agree on every build."""
    reference = builds[0].name
    modes = list(seconds[reference][0])
    print(f"\nact_max, CaffeNet fc8 + fc6 generator: ms per unit-iteration (median of {args.rounds} turns, each "
          f"the median of {args.reps} x {args.steps} iterations) and, in brackets, x {reference}'s original loop "
          f"(the median of the rounds' ratios)")
    width = max(16, max(len(build.name) for build in builds) + 2)
    print(f"  {'build':<{width}}" + "".join(f"{mode:>20}" for mode in modes))
    for build in builds:
        cells = []
        for mode in modes:
            times = [turn[mode] for turn in seconds[build.name]]
            ratios = [mine[mode] / theirs["original"] for mine, theirs in zip(seconds[build.name],
                                                                             seconds[reference])]
            cells.append(f"{np.median(times) * 1e3:.0f} ({np.median(ratios):.2f})")
        print(f"  {build.name:<{width}}" + "".join(f"{cell:>20}" for cell in cells))

    print(f"\nbit for bit on each build, after {args.steps} iterations (the last round):")
    faithful = True
    for build in builds:
        result, _ = last[build.name]
        differences = result["differences"]
        faithful &= differences["original"] == 0
        print(f"  {build.name}: {result['config']}")
        print("\n".join("  " + line for line in result["lines"]))
        print(f"    pycaffe {os.path.relpath(result['caffe'])}; loaded: "
              + ", ".join(os.path.relpath(path) if path.startswith(str(REPO)) else path
                          for path in result["loaded"] if "libcaffe" not in path))
    reference_images = last[reference][1]
    print(f"faithful images against {reference}'s (another BLAS rounds differently; images span "
          f"+-{max(float(np.abs(image).max()) for image in reference_images.values()):.0f}):")
    for build in builds[1:]:
        print(f"  {build.name}: largest difference {largest_difference(last[build.name][1], reference_images):.3g}")
    print("original vs faithful: " + ("0 on every build (faithful)" if faithful else "NOT 0 on every build"))
    return faithful


if __name__ == "__main__":
    run(main)
