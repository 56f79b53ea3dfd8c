#!/usr/bin/env python3
"""Sweep a program (act_max, sampling_class, sampling_caption, cnn_vis, cnnpref: the
registry of prefinput/program.py) over a grid of flags, in parallel on Dask.

    ./sweep.py act_max --unit 0-9 --seed 0 1 2 --L2 0.99 0.999 --output_dir out
    ./sweep.py sampling_class --units 945 946_629 --seed 0 1 --output_dir out
    ./sweep.py act_max --objective "fc8:980 + fc8:470" "fc8:980 - 0.5*fc8:437" --seed 0 1 --output_dir out
    ./sweep.py sampling_caption --sentence a_red_car a_dog --seed 0 1 --output_dir out
    ./sweep.py cnn_vis --target_neuron 0-9 --target_layer fc8 --seed 0 --output_dir out

Any flag of the program may take several values: every combination is a
point, and a point makes the files (and the bits) that the program makes
alone with the same flags.  The units (the program's first units flag:
--unit, --units, --target_neuron, --sentence; --unit and --units stand for
it) also take ranges (0-999) and `all` (every unit of the layer).
--objective's sums of units may stand for them: each is a point.  Points
that differ in a flag the program's file names leave out go into their own
folder, OUTPUT_DIR/flag=value,.../ (a PPGN chain or a cnn-vis image always
has one: its files would collide).  With act_max's --batch K a worker runs K
units of a point group in one pass.

Each finished point is a line of OUTPUT_DIR/sweep.jsonl; the same command
run again does only the points whose files are missing or changed.
OUTPUT_DIR/index.html shows them all (docs/sweep.md).

Sweep options (the rest are the program's):
  --workers N        one-thread worker processes on this machine (default and most: the cores)
  --scheduler ADDR   run on an existing Dask cluster instead (tcp://HOST:PORT)
  --quiet            no progress bar: only failures and the summary
"""
import os
os.environ.setdefault("GLOG_minloglevel", "2")  # suppress Caffe's verbose prints

import collections
import contextlib
import io
import itertools
import logging
import sys
import threading
import time

from harness import gallery
from harness import grid
from prefinput import cpu
from prefinput.cli import run
from prefinput.errors import UserError
from prefinput.files import clean_stale, hold_output_folder
from prefinput.program import PROGRAMS, load, units_given
from prefinput.results import Result

SWEEP_OPTIONS = {"workers": 1, "scheduler": 1, "quiet": 0}   # with how many values
NEUTRAL = {"offline"}  # changes nothing a point makes: not in its params


# --- the programs (prefinput/program.py's interface) ------------------------------

def parse_program(module, argv):
    """The program's parse_args, its argparse errors (usage and a line) made one line."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            return module.parse_args(argv)
    except SystemExit as stop:
        if stop.code == 0:  # --help: what it printed is the answer
            sys.stderr.write(captured.getvalue())
            raise
        last = captured.getvalue().strip().splitlines()[-1:] or ["invalid flags"]
        raise UserError(f"{module.__name__}: {last[0].split(': error: ', 1)[-1]} "
                        f"(in the point {' '.join(argv)})") from None


def expand(units, specs, size=None):
    """The values of `units` written out: numbers' ranges and `all` (given
    the blob's size); others (sums, sentences) each as given, once."""
    return grid.expand_units(specs, size) if units.numbered else list(dict.fromkeys(specs))


def check_units(program, units, argv, concrete):
    """Every unit of `concrete` checked as the program checks it (one line for
    a mistake), the nets loaded once here (the workers load their own);
    returns how many units the blob has (what `all` means)."""
    groups = ([concrete] if units.batch_flag else [[unit] for unit in concrete]) or [["0"]]
    first = parse_program(program, argv + units.argv(groups[0]))
    loaded = program.load_nets(first)
    for group in groups[1:]:
        program.check_units(parse_program(program, argv + units.argv(group)), loaded)
    return units.count(first, loaded)


@contextlib.contextmanager
def made_for_planning(folder):
    """`folder` made, for the points' checks (a program may want its output's
    folder there), and taken away again with the parents made for it if the
    plan stops on a mistake."""
    missing, path = [], os.path.abspath(folder)
    while not os.path.exists(path):
        missing.append(path)
        path = os.path.dirname(path)
    with contextlib.suppress(OSError):  # the program says why not, in one line
        os.makedirs(folder, exist_ok=True)
    try:
        yield
    except BaseException:
        for path in missing:  # the deepest first; only empty ones
            with contextlib.suppress(OSError):
                os.rmdir(path)
        raise


# --- the worker's side -------------------------------------------------------------

_NETS = collections.OrderedDict()   # a worker's loaded nets, by their files
_RUN = threading.Lock()             # the programs use numpy's global seed and one Caffe mode: a point at a time


def file_stats(paths):
    """(path, size, mtime) of each file there (one missing is fetched, or refused in one line, by load_nets)."""
    return tuple((path, os.path.getsize(path), os.stat(path).st_mtime_ns) for path in paths
                 if path and os.path.exists(path))


def nets_for(program, args):
    """The nets for `args`, loaded once per worker and kept (the two last sets):
    the parent has checked every point's blobs and units already."""
    key = nets_key(program, args)
    if key not in _NETS:
        _NETS[key] = program.load_nets(args)
        while len(_NETS) > 2:
            _NETS.popitem(last=False)
    _NETS.move_to_end(key)
    return _NETS[key]


def nets_key(program, args):
    """What decides the nets load_nets gives: the files, the NET_FLAGS, and any
    sums of units (a term naming an in-place layer changes the patched net)."""
    sums = (repr(getattr(args, units.flag, None)) for units in program.UNITS if not units.numbered)
    return (program.__name__, file_stats(program.needed_files(args)),
            *(getattr(args, flag) for flag in program.NET_FLAGS), *sums)


def run_chunk(name, argv):
    """Run one group of points (the program's flags `argv`) on a Dask worker;
    returns each unit's files and activation, the seconds and the worker."""
    from distributed import get_worker
    program = load(name)
    with _RUN, open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        args = parse_program(program, argv)
        loaded = nets_for(program, args)
        start = time.perf_counter()
        results = program.run(args, loaded)
        seconds = time.perf_counter() - start
    return {"results": [(files_of(args, result), result.activation) for result in results],
            "seconds": seconds, "worker": get_worker().address, "openblas": grid.openblas_threads(),
            "numpy_avx512": cpu.numpy_avx512_paths()}


def files_of(args, result: Result):
    """Every file a run made: the image, its frames or samples, its arrays."""
    files = [result.file] + [frame.file for frame in result.frames]
    if getattr(args, "save_raw", False):
        files.append(os.path.splitext(result.file)[0] + ".npz")
    return files


# --- the plan ----------------------------------------------------------------------

def parse_command(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        raise SystemExit(0 if argv else 2)
    name, tokens = argv[0], argv[1:]
    if name not in PROGRAMS:
        raise UserError(f"{name}: not a program sweep.py runs; give one of {', '.join(PROGRAMS)}")
    flags = grid.split_flags(tokens)
    options = {flag: values for flag, values in flags if flag in SWEEP_OPTIONS}
    for flag, values in options.items():
        if len(values) != SWEEP_OPTIONS[flag]:
            raise UserError(f"--{flag} takes {SWEEP_OPTIONS[flag] or 'no'} value{'s'[:SWEEP_OPTIONS[flag] != 1]}")
    program = load(name)
    units = units_given(program, [flag for flag, _ in flags])
    output = dict(flags).get("output_dir", ["."])
    if len(output) != 1:
        raise UserError("--output_dir takes one folder: the points go into it (and its subfolders)")
    flags = [(units.flag if flag in ("unit", "units") and units.numbered else flag, values)
             for flag, values in flags if flag not in SWEEP_OPTIONS and flag != "output_dir"]
    if not dict(flags).get(units.flag):
        raise UserError(f"--{units.flag} is required: " + ("units, ranges (0-9) or all" if units.numbered else
                                                            "the values to sweep"))
    cores = len(os.sched_getaffinity(0))
    workers = options.get("workers", [str(cores)])[0]
    if not workers.isdigit() or int(workers) < 1:
        raise UserError(f"--workers {workers}: give a number of worker processes, 1 or more")
    if int(workers) > cores and "scheduler" not in options:
        raise UserError(f"--workers {workers}: this machine runs {cores} one-thread workers at once (its cores); "
                        f"give {cores} or fewer, or --scheduler for a bigger cluster")
    scheduler = options.get("scheduler", [None])[0]
    if scheduler is not None:
        check_address(scheduler)
    return name, units, flags, dict(output_dir=output[0], workers=int(workers), quiet="quiet" in options,
                                     scheduler=scheduler)


def check_address(scheduler):
    """Stop with one line unless `scheduler` is an address Dask can connect to (tcp://HOST:PORT)."""
    from distributed.comm import parse_address, parse_host_port
    from distributed.comm.registry import backends
    try:
        scheme, location = parse_address(scheduler, strict=False)
        _, port = parse_host_port(location)
        problem = (f"{scheme}:// is not one of {', '.join(sorted(backends))}" if scheme not in backends else
                   f"port {port} is not 1..65535" if not 0 < port < 65536 else None)
    except ValueError as error:
        problem = str(error)
    if problem:
        raise UserError(f"--scheduler {scheduler}: not a scheduler's address ({problem}); "
                        f"give tcp://HOST:PORT, as `dask scheduler` prints it")


def plan(program, units, flags, output_dir):
    """Every point, checked as its program would check it (one line for a
    mistake, before any work): [(argv, batch, [(params, unit, folder)])], a
    group of points for each combination of the other flags."""
    unit_specs = dict(flags)[units.flag]
    others = [(flag, values) for flag, values in flags if flag != units.flag]
    swept = {flag for flag, values in others if len(values) > 1} - units.name_flags
    concrete = expand(units, [spec for spec in unit_specs if spec != "all" or not units.numbered])
    sizes = {}   # what load_nets checks -> how many units the layer has
    groups = []
    for combo in grid.combinations(others):
        def folder(unit):
            named = combo + [(units.flag, [unit])] if units.folder_per_unit else combo
            sub = grid.folder_of(named, swept | {units.flag})
            return os.path.join(output_dir, sub) if sub else output_dir
        argv = grid.argv_of(combo) + program.output_argv(output_dir)
        args = parse_program(program, argv + units.argv(concrete[:1] or ["0"]))
        problem = program.sweep_problem(args)
        if problem:
            raise UserError(problem)
        what = (file_stats(program.needed_files(args)), *(getattr(args, flag) for flag in program.NET_FLAGS))
        if what not in sizes:
            sizes[what] = check_units(program, units, argv, concrete)
        base = grid.params_of([(flag, values) for flag, values in combo if flag not in NEUTRAL])
        points = [(dict(base, **{units.flag: unit}), unit, folder(unit))
                  for unit in expand(units, unit_specs, sizes[what])]
        batch = getattr(args, units.batch_flag) if units.batch_flag else 1
        groups.append((grid.argv_of(combo), max(1, batch), points))
    return groups


# --- the engine ---------------------------------------------------------------------

def worker_environment():
    """One OpenBLAS thread per worker, the CPU paths as here (prefinput/cpu.py):
    OpenBLAS and numpy read them once, when they load, so they go in before
    the worker starts."""
    env = {"OPENBLAS_NUM_THREADS": "1", "GLOG_minloglevel": "2"}
    env.update({name: os.environ[name] for name in ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")
                if name in os.environ})
    return env


@contextlib.contextmanager
def connect(options):
    """A Dask client: of the cluster at --scheduler, or of a LocalCluster of
    one-thread worker processes made (and closed) here."""
    from distributed import Client, LocalCluster
    from distributed.utils import silence_logging_cmgr
    if options["scheduler"]:
        with silence_logging_cmgr(logging.CRITICAL), scheduler_client(options["scheduler"]) as client:
            yield client  # (its logs silenced as a LocalCluster's: the sweep says what failed)
        return
    with LocalCluster(n_workers=options["workers"], threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, env=worker_environment(), silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        yield client


def scheduler_client(address):
    """A client of the scheduler at `address`, once it has a worker, or one line saying why not."""
    from distributed import Client
    try:
        client = Client(address, timeout=30)
    except (OSError, TimeoutError, ValueError) as error:
        raise UserError(f"--scheduler {address}: cannot connect ({grid.one_line(error)}); start the scheduler, or "
                        f"give its address") from None
    try:
        client.wait_for_workers(1, timeout=60)
    except TimeoutError:
        client.close()
        raise UserError(f"--scheduler {address}: no worker joined it in 60 s; start some "
                        f"(dask worker {address} --nthreads 1)") from None
    return client


def main(argv=None):
    name, units, flags, options = parse_command(sys.argv[1:] if argv is None else argv)
    program = load(name)
    with made_for_planning(options["output_dir"]):
        groups = plan(program, units, flags, options["output_dir"])
    with hold_output_folder(options["output_dir"], "--output_dir"):  # one sweep at a time into a folder
        return run_grid(name, units, flags, options, groups)


def run_grid(name, units, flags, options, groups):
    """Compute the points not done yet, record them and show them all in the
    gallery; returns the exit status."""
    output_dir = options["output_dir"]
    points = [point for _, _, group in groups for point in group]
    for folder in sorted({folder for _, _, folder in points}):
        os.makedirs(folder, exist_ok=True)
        clean_stale(folder)
    records = grid.read_records(output_dir)
    chunks = []
    for argv_, batch, group in groups:
        todo = [point for point in group if not grid.finished(output_dir, records.get(grid.key_of(point[0])))]
        for first in range(0, len(todo), batch):  # a chunk's points share their folder (a batch is one group's)
            chunk = todo[first:first + batch]
            chunks.append((argv_ + load(name).output_argv(chunk[0][2]) + units.argv([unit for _, unit, _ in chunk]),
                           chunk))
    todo = sum(len(chunk_points) for _, chunk_points in chunks)
    print(f"sweep.py: {len(points)} points, {len(points) - todo} done before, {todo} to compute", file=sys.stderr)
    swept = [flag for flag, values in flags if len(values) > 1 and flag not in NEUTRAL | {units.flag}]
    lost = False
    if chunks:
        lost = compute(name, chunks, options, len(points) - todo, len(points), swept + [units.flag])
    records = grid.read_records(output_dir)
    done = [records[grid.key_of(params)] for params, _, _ in points
            if grid.finished(output_dir, records.get(grid.key_of(params)))]
    gallery.write(output_dir, done, swept, units.flag)
    if lost:
        print(f"sweep.py: error: the scheduler {options['scheduler']} went away mid-sweep (the connection to it "
              f"was lost); {len(done)} of {len(points)} points are done, kept in "
              f"{os.path.join(output_dir, grid.RECORD)}: run the same command again once it is back", file=sys.stderr)
        return 1
    print(f"sweep.py: {len(done)} of {len(points)} points done, {len(points) - len(done)} failed; "
          f"{os.path.join(output_dir, gallery.PAGE)}", file=sys.stderr)
    return 0 if len(done) == len(points) else 1


def compute(name, chunks, options, done_before, total, shown):
    """Run the chunks on Dask, recording each finished one; a few at a time
    per worker, so that stopping (Ctrl-C, SIGTERM) cancels a few tasks, not
    the whole grid.  Returns whether the scheduler went away."""
    from distributed import as_completed
    from tqdm import tqdm
    output_dir, failed, warned = options["output_dir"], 0, set()  # failed: for the bar
    with connect(options) as client:  # SIGTERM stops it as Ctrl-C does (cli.run)
        def say(line):  # above the bar, or alone with --quiet
            tqdm.write(line, file=sys.stderr)

        def workers():
            return len(client.scheduler_info().get("workers", ()))
        bar = tqdm(total=total, initial=done_before, unit="point", disable=options["quiet"], dynamic_ncols=True,
                   file=sys.stderr)
        waiting, running, finished = iter(chunks), {}, as_completed()

        def submit():  # enough to keep every worker busy while one result travels back
            for chunk_argv, chunk_points in itertools.islice(waiting, max(0, 2 * workers() + 2 - len(running))):
                future = client.submit(run_chunk, name, chunk_argv, pure=False)
                running[future] = chunk_points
                finished.add(future)
        try:
            submit()
            for future in finished:
                chunk_points = running.pop(future)
                if future.cancelled() and client.status != "running":  # Dask cancels all when it is gone
                    bar.close()
                    return True
                failed += finish(output_dir, future, chunk_points, warned, say, shown)
                submit()
                bar.set_postfix(workers=workers(), failed=failed, refresh=False)
                bar.update(len(chunk_points))
        except KeyboardInterrupt:
            client.cancel(list(running))
            bar.close()
            print(f"sweep.py: stopped; the finished points are in {os.path.join(output_dir, grid.RECORD)}: "
                  f"run the same command to do the rest", file=sys.stderr)
            raise
        bar.close()
    return False


def finish(output_dir, future, points, warned, write, shown):
    """Record a finished chunk's points in sweep.jsonl (or their failure, in
    one line naming the `shown` flags); returns how many failed."""
    try:
        done = future.result()
    except Exception as error:  # the program's own error, or its workers died on it each time
        reason = grid.one_line(error)
        for params, _, _ in points:
            grid.append(output_dir, dict(params=params, error=reason))
            write(f"sweep.py: failed {' '.join(f'--{k} {params[k]}' for k in shown)}: {reason}")
        return len(points)
    if done["openblas"] != 1 and done["worker"] not in warned:
        warned.add(done["worker"])
        write(f"sweep.py: warning: worker {done['worker']} runs OpenBLAS with {done['openblas']} threads: its "
              f"points may differ in the last bits from the program run alone; start it with OPENBLAS_NUM_THREADS=1")
    if done["numpy_avx512"] and done["worker"] not in warned:
        warned.add(done["worker"])
        write(f"sweep.py: warning: worker {done['worker']} runs numpy's AVX-512 routines: its points may differ "
              f"in the last bits from other machines'; start it with "
              f"{cpu.environment_line(cpu.PINNED, 'NPY_DISABLE_CPU_FEATURES')}")
    for (params, _, _), (files, activation) in zip(points, done["results"]):
        entry = grid.record(output_dir, params, files, activation=activation, worker=done["worker"],
                            seconds=done["seconds"] / len(points), openblas_threads=done["openblas"])
        grid.append(output_dir, entry)
    return 0


if __name__ == "__main__":
    import sweep  # the workers find run_chunk (and their loaded nets) in the module, not in __main__
    run(sweep.main)
