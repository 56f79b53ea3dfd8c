#!/usr/bin/env python3
"""Benchmark: the original act_max and PPGN loops against ours, side by side.

On the real architectures (the reference prototxts: CaffeNet, the fc6 upconv
generator, the PPGN noiseless generator) with random weights made once in a
cache folder.  In one process, repetitions interleave the modes so that the
ratios are fair on a busy machine:

  original   the original loop operation for operation (bench/original.py),
             nets with force_backward, so Caffe computes weight gradients;
             on stock Caffe's InnerProduct (CAFFE_ONE_ROW_GEMM=0)
  faithful   act_max.py's / sampler.py's loop on nets loaded as they load them
             (no weight gradients, nothing computed twice); bit-identical
  batched    act_max.py --batch: the units in one forward/backward pass
  ..., stock the same on stock Caffe's InnerProduct: what
             docker/patches/0003 (exact one-row products) buys
  peer       the same iteration in PyTorch (CPU) on the same nets and
             weights, on OpenBLAS's thread count (bench/peer.py; optional:
             pip install -r bench/requirements-peer.txt); checked against
             Caffe on every run

then a profile of one iteration by layer, example 1's sweep end to end
(5 units; a process per unit for the original, as its shell script ran
them; one process for ours) with each process's peak memory, and the PPGN
sampling step.  See docs/performance.md.

    .venv/bin/python bench/run.py                        # about 5 minutes here
    .venv/bin/python bench/run.py --iters 200 --rounds 1  # the whole sweep, 17 minutes
"""
import os
import sys
from pathlib import Path

# OpenBLAS reads its thread count and kernels once, when numpy or Caffe
# loads it: both are set first (prefinput chooses the kernels), so that
# numpy's GEMM rate, the floor, is that of the kernels Caffe runs.
if __name__ == "__main__" and "OPENBLAS_NUM_THREADS" not in os.environ:
    os.environ["OPENBLAS_NUM_THREADS"] = str(len(os.sched_getaffinity(0)))
os.environ.setdefault("GLOG_minloglevel", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]
import prefinput  # noqa: E402,F401

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from bench import measure, random_nets, original  # noqa: E402
from prefinput.cli import add_setting_flags, run  # noqa: E402

UNITS = [643, 624, 304, 629, 437]  # example 1 (1_activate_output.sh)
SWEEP = dict(L2=0.99, start_lr=8.0, end_lr=1e-10, seed=0, act_layer="fc8")
PPGN = dict(lr=1.0, epsilon1=1e-5, epsilon2=1.0, epsilon3=1e-17, unit=945)  # 1_class_conditional_sampling.sh
FULL_ITERS = 200


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__[
                                         __doc__.index("    .venv"):])
    parser.add_argument("--iters", type=int, default=10,
                        help=f"iterations of the end-to-end sweep (example 1: {FULL_ITERS}; the table also "
                             f"projects to {FULL_ITERS})")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each sweep (the median is reported)")
    parser.add_argument("--steps", type=int, default=3, help="iterations per timed repetition")
    parser.add_argument("--reps", type=int, default=5, help="repetitions (the median is reported)")
    parser.add_argument("--batch", type=int, default=len(UNITS), help="units per pass in the batched mode")
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "prefinput-bench"),
                        help="folder for the random caffemodels")
    parser.add_argument("--skip", nargs="*", default=[], choices=["actmax", "profile", "sweep", "ppgn"],
                        help="sections to leave out")
    add_setting_flags(parser, ["net_definition", "generator_definition", "ppgn_generator_definition"])
    return parser.parse_args(argv)


class Nets:
    """The benchmark's nets, each loaded once, the way each mode loads them."""

    def __init__(self, args):
        from prefinput.netdefs import loading, prototxt
        cache = args.cache
        os.makedirs(cache, exist_ok=True)
        self.classifier = random_nets.reference_copy(args.net_definition, cache, "caffenet")
        self.generator = random_nets.reference_copy(args.generator_definition, cache, "generator")
        self.ppgn_generator = random_nets.reference_copy(args.ppgn_generator_definition, cache, "ppgn_generator")
        self.weights = {path: random_nets.random_weights(path, *blob) for path, blob in (
            (self.classifier, ("data", 50.0)), (self.generator, ("feat",)), (self.ppgn_generator, ("feat", 1.0, 1)))}
        self.bound = random_nets.bound_file(cache, 4096)
        self.synsets = random_nets.synset_file(cache)
        # As the originals loaded them: force_backward (and no cuDNN engine, which this Caffe lacks)
        self.original = {path: prototxt.patch(path) for path in self.weights}
        self.orig_net, self.orig_generator = original.load_nets(
            self.original[self.classifier], self.weights[self.classifier],
            self.original[self.generator], self.weights[self.generator])
        self.orig_ppgn_generator = self.load_original(self.ppgn_generator)
        self.encoder = self.load_original(self.classifier)
        # As act_max.py and the samplers load them
        self.net = loading.classifier(self.classifier, self.weights[self.classifier], mean=loading.CLASSIFIER_MEAN,
                                       channel_swap=(2, 1, 0), weight_gradients=False)
        self.gen = loading.load(self.generator, self.weights[self.generator], weight_gradients=False)
        self.ppgn_gen = loading.load(self.ppgn_generator, self.weights[self.ppgn_generator],
                                      weight_gradients=False)

    def one_at_a_time(self):
        """Our nets at batch 1 again after the batched mode."""
        from prefinput.netdefs import loading
        loading.set_batch(self.gen, "feat", 1)
        loading.set_batch(self.net, "data", 1)

    def load_original(self, path):
        import caffe
        from prefinput.netdefs import modelcheck
        modelcheck.check(self.original[path], self.weights[path])
        return caffe.Net(self.original[path], self.weights[path], caffe.TEST)


# --- act_max: time per iteration ---------------------------------------------

def actmax_modes(n, steps, batch, peer_nets=None):
    """{mode: function(rep) running one repetition -> (unit-iterations,
    {unit: image})}; one unit per repetition (in turn) but for the batch;
    with `peer_nets` (load_peer's) the peer's modes too."""
    import act_max
    shape = n.gen.blobs["feat"].data.shape
    upper, lower = act_max.load_bound(n.bound, shape)
    params = [{"layer": SWEEP["act_layer"], "iter_n": steps, "L2": SWEEP["L2"],
               "start_step_size": SWEEP["start_lr"], "end_step_size": SWEEP["end_lr"]}]
    start = np.random.RandomState(SWEEP["seed"]).normal(0, 1, shape)
    units = (UNITS * batch)[:batch]

    @measure.stock_caffe()
    def original_mode(rep):
        unit = UNITS[rep % len(UNITS)]
        return steps, {unit: original.act_max(n.orig_net, n.orig_generator, start, params, unit,
                                              upper_bound=upper, lower_bound=lower)}

    def faithful_mode(rep):
        n.one_at_a_time()
        unit = UNITS[rep % len(UNITS)]
        images, _, _ = act_max.activation_maximization(n.net, n.gen, "feat", "deconv0", start, params, [unit],
                                                       upper_bound=upper, lower_bound=lower)
        return steps, {unit: images[0]}

    def batched_mode(rep):
        images, _, _ = act_max.activation_maximization(n.net, n.gen, "feat", "deconv0", start, params, units,
                                                       upper_bound=upper, lower_bound=lower)
        return steps * len(units), dict(zip(units, images))

    modes = {"original": original_mode, "faithful": faithful_mode, f"batched {batch}": batched_mode,
             "faithful, stock": measure.stock_caffe()(faithful_mode),
             f"batched {batch}, stock": measure.stock_caffe()(batched_mode)}
    if peer_nets is None:
        return modes
    from bench import peer
    generator, classifier = peer_nets

    def peer_mode(size):
        def mode(rep):
            chosen = units if size > 1 else [UNITS[rep % len(UNITS)]]
            images, _ = peer.act_max(generator, classifier, "feat", "deconv0", start, params, chosen,
                                     upper_bound=upper, lower_bound=lower)
            return steps * len(chosen), {unit: images[b:b + 1] for b, unit in enumerate(chosen)}
        return mode

    return dict(modes, **{f"peer, batch {size}": peer_mode(size) for size in (1, batch)})


def load_peer(n, batch):
    """(generator, classifier) of the PyTorch peer on our nets' weights, on
    OpenBLAS's thread count, and the line saying how far it is from Caffe; or
    None and the line saying why there is none (torch is optional)."""
    try:
        from bench import peer
    except ImportError as error:
        if error.name == "torch":
            return None, "peer: skipped, torch is not installed (pip install -r bench/requirements-peer.txt)"
        return None, f"peer: skipped, torch does not import ({error}; see bench/requirements-peer.txt)"
    peer.use_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))
    generator, classifier = peer.load(n.generator, n.gen), peer.load(n.classifier, n.net)
    start = np.random.RandomState(SWEEP["seed"]).normal(0, 1, n.gen.blobs["feat"].data.shape)
    line = peer.agreement(n.net, n.gen, classifier, generator, "feat", "deconv0", SWEEP["act_layer"], start,
                          (UNITS * batch)[:batch], SWEEP["start_lr"])
    n.one_at_a_time()  # the check ran our nets at the batch; the modes start from batch 1
    return (generator, classifier), line


def rotated(names, rep):
    """The modes in turn, each repetition starting one further: no mode
    always runs right after a given one."""
    names = list(names)
    return names[rep % len(names):] + names[:rep % len(names)]


def interleaved(modes, reps):
    """Run the modes in turn `reps` times; {mode: (median seconds per
    unit-iteration, {unit: image} of the latest runs)}.  Warns when a mode
    stopped early (fewer progress lines than unit-iterations)."""
    times = {name: [] for name in modes}
    images = {name: {} for name in modes}
    for rep in range(reps):
        for name in rotated(modes, rep):
            out = io.StringIO()
            start = time.perf_counter()
            with contextlib.redirect_stdout(out):
                count, result = modes[name](rep)
            times[name].append((time.perf_counter() - start) / count)
            images[name].update(result)
            if out.getvalue().count("max:") != count:
                print(f"  warning: {name} stopped early ({out.getvalue().count('max:')} of {count} steps)")
    return {name: (float(np.median(times[name])), images[name]) for name in modes}


def largest_difference(ours, theirs):
    """The largest |difference| of two {unit: image}, over the units both have."""
    return max(float(np.abs(ours[u] - theirs[u]).max()) for u in set(ours) & set(theirs))


def compare(results, name, reference="faithful"):
    """One line: the largest |difference| of a mode's images from the
    reference mode's, over the units both ran."""
    ours, theirs = results[name][1], results[reference][1]
    units = sorted(set(ours) & set(theirs))
    difference = largest_difference(ours, theirs)
    extent = max(float(np.abs(theirs[u]).max()) for u in units)
    return (f"  {name} vs {reference}, units {' '.join(map(str, units))}: largest |image difference| "
            f"{difference:.3g} (images span +-{extent:.0f})")


# --- reporting ---------------------------------------------------------------

def table(title, rows, reference, floor, unit="unit-iter"):
    print(f"\n{title}")
    print(f"  {'mode':<18}{'ms/' + unit:>13}{unit + '/s':>12}{'x original':>11}{'of floor':>9}")
    for name, seconds in rows.items():
        print(f"  {name:<18}{seconds * 1e3:>13.1f}{1 / seconds:>12.2f}{seconds / reference:>11.2f}"
              f"{floor / seconds:>9.0%}")


def floors(n, rate, bandwidth):
    """The arithmetic floor of one act_max iteration: both forward passes and
    both input gradients at the GEMM rate; and at batch 1 the FC weights'
    memory traffic (read forward and backward)."""
    flops = 2 * (sum(measure.layer_flops(n.gen).values())
                 + sum(measure.layer_flops(n.net, SWEEP["act_layer"]).values()))
    traffic = 2 * (measure.weight_bytes(n.gen) + measure.weight_bytes(n.net, SWEEP["act_layer"]))
    print(f"\nfloor: one act_max iteration is {flops / 1e9:.2f} GFLOP (forward + input gradients; weight "
          f"gradients would add {flops / 2e9:.2f}); numpy sgemm here peaks at {rate / 1e9:.0f} GFLOP/s: "
          f"{flops / rate * 1e3:.0f} ms.\n       At batch 1 the FC weights ({traffic / 2 ** 21:.0f} MiB, read "
          f"twice) stream at {bandwidth / 1e9:.1f} GB/s: {traffic / bandwidth * 1e3:.0f} ms.")
    return flops / rate


def print_profile(title, net, first, last):
    rows = measure.profile(net, first, last)
    kinds = {}
    for name, kind, forward, backward in rows:
        kinds.setdefault(kind, [0.0, 0.0])
        kinds[kind][0] += forward
        kinds[kind][1] += backward
    top = sorted(rows, key=lambda row: -(row[2] + row[3]))[:6]
    total = sum(f + b for _, _, f, b in rows)
    print(f"  {title}: {total * 1e3:.0f} ms; by type (forward + backward ms): "
          + ", ".join(f"{kind} {f * 1e3:.0f}+{b * 1e3:.0f}" for kind, (f, b) in
                      sorted(kinds.items(), key=lambda item: -sum(item[1])) if f + b > 5e-4))
    print("    slowest layers: " + ", ".join(f"{name} {(f + b) * 1e3:.1f}" for name, _, f, b in top))


def matrix_vector(net, bandwidth, layer="fc6"):
    """Caffe's forward of a fully-connected layer at batch 1 (a GEMM with
    one row: OpenBLAS packs the whole matrix first) beside numpy's
    matrix-vector product of the same numbers, and the memory floor."""
    index = list(net._layer_names).index(layer)
    weights = net.params[layer][0].data
    vector = net.blobs[net.bottom_names[layer][0]].data.reshape(-1)
    in_caffe = measure.median_time(lambda: net._forward(index, index), 5)
    in_numpy = measure.median_time(lambda: weights @ vector, 5)
    print(f"  {layer} forward at batch 1 ({weights.shape[0]}x{weights.shape[1]} weights): Caffe's one-row GEMM "
          f"{in_caffe * 1e3:.1f} ms, numpy's matrix-vector product {in_numpy * 1e3:.1f} ms, reading the weights once "
          f"{weights.nbytes / bandwidth * 1e3:.1f} ms")


def profile_section(n, bandwidth):
    print("\nprofile of one iteration by layer (net._forward(i, i) / net._backward(i, i), median of 3):")
    n.one_at_a_time()
    end = list(n.net._layer_names).index(SWEEP["act_layer"])
    for label, classifier, generator, stock in (("original", n.orig_net, n.orig_generator, True),
                                                ("faithful, stock", n.net, n.gen, True),
                                                ("faithful", n.net, n.gen, False)):
        with measure.stock_caffe() if stock else contextlib.nullcontext():
            for name, net, last in (("classifier to fc8", classifier, end),
                                    ("generator", generator, len(generator.layers) - 1)):
                print_profile(f"{label} {name}", net, 0, last)
    matrix_vector(n.net, bandwidth)


# --- example 1's sweep, end to end ---------------------------------------------

def sweep_commands(n, iters, batch, output):
    """{mode: [command, ...]}, each mode writing into output/<mode>."""
    python = sys.executable
    flags = ["--n_iters", iters, "--bound", n.bound]
    act_max = [python, REPO / "act_max.py", "--L2", SWEEP["L2"], "--start_lr", SWEEP["start_lr"], "--end_lr",
               SWEEP["end_lr"], "--seed", SWEEP["seed"], "--act_layer", "fc8", "--opt_layer", "fc6", "--offline",
               "--save_raw", "--net_definition", n.classifier, "--net_weights", n.weights[n.classifier],
               "--generator_definition", n.generator, "--generator_weights", n.weights[n.generator], *flags]
    originals = [[python, REPO / "bench" / "original.py", "--unit", unit, *flags,
                  "--net_definition", n.original[n.classifier], "--net_weights", n.weights[n.classifier],
                  "--generator_definition", n.original[n.generator],
                  "--generator_weights", n.weights[n.generator]] for unit in UNITS]
    commands = {"original": originals,
                "faithful": [act_max + ["--unit", *UNITS]],
                f"batched {batch}": [act_max + ["--unit", *UNITS, "--batch", batch]],
                "faithful, 1 unit": [act_max + ["--unit", UNITS[0]]]}
    return {name: [[str(part) for part in command] + ["--output_dir", os.path.join(output, name)]
                   for command in mode] for name, mode in commands.items()}


def sweep_images(folder):
    """{unit: the image array a sweep saved for it}."""
    images = {}
    for unit in UNITS:
        path, = [os.path.join(folder, name) for name in os.listdir(folder)
                 if name.endswith(".npz") and f"_{unit:04d}" in name]
        with np.load(path) as data:
            images[unit] = data["image"]
    return images


def sweep_section(n, iters, batch, rounds, per_iteration):
    """Run each mode's sweep `rounds` times, the modes in turn; print the
    median time, the projection to the full sweep and the peak memory;
    return {mode: peak bytes}."""
    seconds, peaks = {}, {}
    with tempfile.TemporaryDirectory() as output:
        commands_of = sweep_commands(n, iters, batch, output)
        for round_ in range(rounds):
            for name in rotated(commands_of, round_):
                os.makedirs(os.path.join(output, name), exist_ok=True)
                stock = {measure.STOCK_SWITCH: "0"} if name == "original" else {}
                runs = [measure.run_process(command, stock) for command in commands_of[name]]
                seconds.setdefault(name, []).append(sum(s for s, _ in runs))
                peaks[name] = max([peaks.get(name, 0)] + [rss for _, rss in runs])
        images = {name: (0, sweep_images(os.path.join(output, name)))
                  for name in ("original", "faithful", f"batched {batch}")}

    print(f"\nexample 1's sweep end to end ({len(UNITS)} units x {iters} iterations, loading included; median of "
          f"{rounds}; projected to {FULL_ITERS} iterations with the times per iteration above):")
    print(f"  {'mode':<18}{'processes':>10}{'seconds':>9}{'x original':>11}{f'at {FULL_ITERS}':>9}{'x original':>11}"
          f"{'peak RSS MiB':>13}")
    median = {name: float(np.median(times)) for name, times in seconds.items()}
    projected = {name: median[name] + (FULL_ITERS - iters) * len(UNITS) * per_iteration[name]
                 for name in median if name in per_iteration}
    for name in commands_of:
        at_full = f"{projected[name]:>9.0f}{projected[name] / projected['original']:>11.2f}" \
            if name in projected and "original" in projected else " " * 20
        print(f"  {name:<18}{len(commands_of[name]):>10}{median[name]:>9.1f}{median[name] / median['original']:>11.2f}"
              f"{at_full}{peaks[name] / 2 ** 20:>13.0f}")
    print("\n".join(compare(images, name) for name in ("original", f"batched {batch}")))
    return projected, peaks


# --- PPGN: time per step -------------------------------------------------------

def ppgn_modes(n, steps):
    from sampling_class import ClassConditionalSampler
    sampler = ClassConditionalSampler(n.synsets)
    start = np.random.RandomState(0).normal(0, 1, n.ppgn_gen.blobs["feat"].data.shape)
    unit = PPGN["unit"]

    @measure.stock_caffe()
    def original_mode(rep):
        np.random.seed(0)
        image, _ = original.ppgn(n.orig_net, n.encoder, n.orig_ppgn_generator, start, steps, unit,
                                 lr=PPGN["lr"], lr_end=PPGN["lr"], epsilon1=PPGN["epsilon1"],
                                 epsilon2=PPGN["epsilon2"], epsilon3=PPGN["epsilon3"])
        return steps + 1, {unit: image}

    def faithful_mode(rep):
        n.one_at_a_time()
        np.random.seed(0)
        image, _ = sampler.sampling(n.net, n.encoder, n.ppgn_gen, "feat", "deconv0", start, steps,
                                    PPGN["lr"], PPGN["lr"], -1.0, "fc8", [{"unit": unit, "xy": 0}],
                                    PPGN["epsilon1"], PPGN["epsilon2"], PPGN["epsilon3"], save_every=0)
        return steps + 1, {unit: image}

    return {"original": original_mode, "faithful": faithful_mode}


def ppgn_flops(n):
    """The needed work of one PPGN step: G(h) once, E(G(h)) to the code,
    the condition net forward and its input gradient, then G's."""
    def forward(net, end=None):
        return sum(measure.layer_flops(net, end).values())
    return 2 * forward(n.ppgn_gen) + forward(n.encoder, "fc6") + 2 * forward(n.net, SWEEP["act_layer"])


def ppgn_section(n, steps, reps, rate):
    results = interleaved(ppgn_modes(n, steps), reps)
    per_step = {name: seconds for name, (seconds, _) in results.items()}
    table(f"PPGN class-conditional sampling, CaffeNet + noiseless generator: time per step (median of {reps} x "
          f"{steps + 1} steps; floor: G forward, E to fc6, C to fc8, input gradients of C and G)", per_step,
          per_step["original"], ppgn_flops(n) / rate, unit="step")
    print(compare(results, "original"))


def main(argv=None):
    args = parse_args(argv)
    load = os.getloadavg()
    print(f"bench: {len(os.sched_getaffinity(0))} cores, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}, "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the start")
    n = Nets(args)
    rate, bandwidth = measure.gemm_rate(), measure.copy_bandwidth()
    floor = floors(n, rate, bandwidth)

    per_iteration, targets = {}, []
    batched = f"batched {args.batch}"
    if "actmax" not in args.skip:
        peer_nets, peer_line = load_peer(n, args.batch)
        results = interleaved(actmax_modes(n, args.steps, args.batch, peer_nets), args.reps)
        per_iteration = {name: seconds for name, (seconds, _) in results.items()}
        table(f"act_max, CaffeNet fc8 + fc6 generator: time per unit-iteration (median of {args.reps} x "
              f"{args.steps} iterations)", per_iteration, per_iteration["original"], floor)
        print("  stock: Caffe's InnerProduct as OpenBLAS's packed GEMM, as the originals ran it (the original "
              "runs so), without docker/patches/0003's exact products")
        print("  " + peer_line)
        print(f"  after {args.steps} iterations:")
        print("\n".join(compare(results, name) for name in ["original", batched, f"{batched}, stock"]))
        targets += [("faithful per iteration vs original", per_iteration["faithful"] / per_iteration["original"],
                     0.6),
                    (f"{batched} per unit-iteration vs original", per_iteration[batched] / per_iteration["original"],
                     0.35)]
        if peer_nets:
            targets.append((f"{batched} per unit-iteration vs peer batch {args.batch}",
                            per_iteration[batched] / per_iteration[f"peer, batch {args.batch}"], 1.0))
    if "profile" not in args.skip:
        profile_section(n, bandwidth)
    if "sweep" not in args.skip:
        projected, peaks = sweep_section(n, args.iters, args.batch, args.rounds, per_iteration)
        targets += [(f"example 1's sweep, {name}, at {FULL_ITERS} iterations", projected[name] / projected["original"],
                     0.5) for name in ("faithful", batched) if name in projected and "original" in projected]
        targets.append((f"peak memory, {batched} units / 1 unit", peaks[batched] / peaks["faithful, 1 unit"], 1.5))
    if "ppgn" not in args.skip:
        ppgn_section(n, args.steps, args.reps, rate)
    print("\ntargets:")
    for what, ratio, target in targets:
        print(f"  {what:<52}{ratio:>6.2f}  (target <= {target}: {'met' if ratio <= target else 'missed'})")
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end")


if __name__ == "__main__":
    run(main)
