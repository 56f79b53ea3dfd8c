#!/usr/bin/env python3
"""Sweep act_max.py or sampling_class.py over a grid of flags, in parallel on Dask.

    ./sweep.py act_max --unit 0-9 --seed 0 1 2 --L2 0.99 0.999 --output_dir out
    ./sweep.py sampling_class --units 945 946_629 --seed 0 1 --output_dir out
    ./sweep.py act_max --objective "fc8:980 + fc8:470" "fc8:980 - 0.5*fc8:437" --seed 0 1 --output_dir out

Any flag of the program may take several values: every combination is a
point, and a point makes the files (and the bits) that the program makes
alone with the same flags.  --unit also takes ranges (0-999) and `all` (every
unit of --act_layer).  --objective's sums of units may stand for --unit:
each is a point.  Points that differ in a flag the program's file names
leave out go into their own folder, OUTPUT_DIR/flag=value,.../ (a
sampling_class point always has one: its samples/ would collide).  With
act_max's --batch K a worker runs K units of a point group in one pass.

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
from prefinput.results import Result


# --- the programs ----------------------------------------------------------------

class ActMax:
    unit_flag = "unit"
    name_flags = {"act_layer", "unit", "n_iters", "L2", "start_lr", "seed"}  # in act_max.output_name
    folder_per_unit = False

    @staticmethod
    def module():
        import act_max
        return act_max

    @staticmethod
    def set_units(argv, units):
        return argv + ["--unit", *units]

    expand = staticmethod(grid.expand_units)  # ranges and `all` (given the blob's size) written out

    def unit_count(self, loaded, args):
        """How many units --act_layer has (what `all` means)."""
        return self.classifier(loaded).blobs[args.act_layer].data.shape[1]

    @staticmethod
    def classifier(loaded):
        return loaded.net

    def check_units(self, argv, units):
        """The nets, loaded as the program loads them (load_nets checks every unit it is given)."""
        return self.module().load_nets(self.parse(self.set_units(argv, units)))

    def run(self, args, loaded):
        return self.module().visualise(args, loaded)

    def parse(self, argv):
        return parse_program(self.module(), argv)


class SamplingClass(ActMax):
    unit_flag = "units"
    name_flags = set()
    folder_per_unit = True  # the samples/ of two chains would collide

    @staticmethod
    def module():
        import sampling_class
        return sampling_class

    @staticmethod
    def set_units(argv, units):
        [unit] = units  # one chain per point
        return argv + ["--units", unit]

    @staticmethod
    def classifier(loaded):
        return loaded[0]

    def check_units(self, argv, units):
        loaded = self.module().load_nets(self.parse(self.set_units(argv, units[:1])))
        for unit in units:
            self.module().parse_conditions(self.parse(self.set_units(argv, [unit])), loaded[0])
        return loaded

    def run(self, args, loaded):
        return [self.module().sample(args, loaded)]


class Objectives:
    """A program swept over --objective's sums of units instead of units."""
    unit_flag = "objective"

    def __init__(self, program):
        self.program = program
        self.name_flags = program.name_flags - {"act_layer", "unit"} | ({"objective"} if program.name_flags else set())
        self.folder_per_unit = program.folder_per_unit

    def __getattr__(self, name):  # the rest as the program's
        return getattr(self.program, name)

    @staticmethod
    def expand(specs, size=None):
        return list(dict.fromkeys(specs))  # each sum as given, once

    def set_units(self, argv, units):
        return argv + ["--objective", *units]

    def check_units(self, argv, units):
        return self.module().load_nets(self.parse(self.set_units(argv, units)))  # checks each sum

    def unit_count(self, loaded, args):
        return None


PROGRAMS = {"act_max": ActMax(), "sampling_class": SamplingClass()}
SWEEP_OPTIONS = {"workers": 1, "scheduler": 1, "quiet": 0}   # with how many values
NEUTRAL = {"output_dir", "offline"}  # change nothing a point makes: not in its params


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
    key = (type(program).__name__, file_stats(program.module().needed_files(args)))
    if key not in _NETS:
        _NETS[key] = program.module().load_nets(args)
        while len(_NETS) > 2:
            _NETS.popitem(last=False)
    _NETS.move_to_end(key)
    return _NETS[key]


def run_chunk(name, argv):
    """Run one group of points (the program's flags `argv`) on a Dask worker;
    returns each unit's files and activation, the seconds and the worker."""
    from distributed import get_worker
    program = PROGRAMS[name]
    with _RUN, open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        args = program.parse(argv)
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
    program = PROGRAMS[name]
    if any(flag == "objective" for flag, _ in flags):
        program = Objectives(program)
    flags = [(program.unit_flag if flag in ("unit", "units") else flag, values)
             for flag, values in flags if flag not in SWEEP_OPTIONS]
    if name == "act_max" and dict(flags).get("debug", ["0"]) != ["0"]:
        raise UserError("--debug 1 would write every point's iterations into the one OUTPUT_DIR/debug: "
                        "run act_max.py alone for it")
    units = dict(flags).get(program.unit_flag)
    if not units:
        raise UserError(f"--{program.unit_flag} is required: units, ranges (0-9) or all")
    output = dict(flags).get("output_dir", ["."])
    if len(output) != 1:
        raise UserError("--output_dir takes one folder: the points go into it (and its subfolders)")
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
    return program, flags, dict(output_dir=output[0], workers=int(workers), quiet="quiet" in options,
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


def plan(program, flags, output_dir):
    """Every point, checked as its program would check it (one line for a
    mistake, before any work): [(argv, batch, [(params, unit, folder)])], a
    group of points for each combination of the other flags."""
    unit_specs = dict(flags)[program.unit_flag]
    others = [(flag, values) for flag, values in flags if flag not in (program.unit_flag, "output_dir")]
    swept = {flag for flag, values in others if len(values) > 1} - program.name_flags
    concrete = program.expand([spec for spec in unit_specs if spec != "all"])
    sizes = {}   # what load_nets checks -> how many units the act_layer has
    groups = []
    for combo in grid.combinations(others):
        def folder(unit):
            named = combo + [(program.unit_flag, [unit])] if program.folder_per_unit else combo
            sub = grid.folder_of(named, swept | {program.unit_flag})
            return os.path.join(output_dir, sub) if sub else output_dir
        argv = grid.argv_of(combo)
        args = program.parse(program.set_units(argv + ["--output_dir", output_dir], concrete[:1] or ["0"]))
        what = (file_stats(program.module().needed_files(args)),
                *(getattr(args, name, None) for name in ("act_layer", "xy", "gen_in_layer", "gen_out_layer",
                                                          "opt_layer")))
        if what not in sizes:
            loaded = program.check_units(argv + ["--output_dir", output_dir], concrete or ["0"])
            sizes[what] = program.unit_count(loaded, args)
            del loaded  # the workers load their own
        base = grid.params_of([(flag, values) for flag, values in combo if flag not in NEUTRAL])
        points = [(dict(base, **{program.unit_flag: unit}), unit, folder(unit))
                  for unit in program.expand(unit_specs, sizes[what])]
        groups.append((argv, max(1, getattr(args, "batch", 1)), points))
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
    program, flags, options = parse_command(sys.argv[1:] if argv is None else argv)
    groups = plan(program, flags, options["output_dir"])
    with hold_output_folder(options["output_dir"], "--output_dir"):  # one sweep at a time into a folder
        return run_grid(program, flags, options, groups)


def run_grid(program, flags, options, groups):
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
            chunks.append((program.set_units(argv_ + ["--output_dir", chunk[0][2]], [unit for _, unit, _ in chunk]),
                           chunk))
    todo = sum(len(chunk_points) for _, chunk_points in chunks)
    print(f"sweep.py: {len(points)} points, {len(points) - todo} done before, {todo} to compute", file=sys.stderr)
    swept = [flag for flag, values in flags if len(values) > 1 and flag not in NEUTRAL | {program.unit_flag}]
    lost = False
    if chunks:
        name = next(key for key, value in PROGRAMS.items()
                    if value in (program, getattr(program, "program", None)))
        lost = compute(name, chunks, options, len(points) - todo, len(points), swept + [program.unit_flag])
    records = grid.read_records(output_dir)
    done = [records[grid.key_of(params)] for params, _, _ in points
            if grid.finished(output_dir, records.get(grid.key_of(params)))]
    gallery.write(output_dir, done, swept)
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
