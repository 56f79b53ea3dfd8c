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
  --workers N        one-thread worker processes on this machine (default: the cores)
  --scheduler ADDR   run on an existing Dask cluster instead (tcp://HOST:PORT)
  --quiet            no progress bar: only failures and the summary
"""
import os
os.environ.setdefault("GLOG_minloglevel", "2")  # suppress Caffe's verbose prints

import collections
import contextlib
import io
import logging
import sys
import threading
import time

from prefinput import gallery
from prefinput import sweep as grid
from prefinput.cli import UserError, run
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
    return tuple((path, os.path.getsize(path), os.stat(path).st_mtime_ns) for path in paths if path)


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
            "seconds": seconds, "worker": get_worker().address, "openblas": grid.openblas_threads()}


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
    workers = options.get("workers", [str(len(os.sched_getaffinity(0)))])[0]
    if not workers.isdigit() or int(workers) < 1:
        raise UserError(f"--workers {workers}: give a number of worker processes, 1 or more")
    return program, flags, dict(output_dir=output[0], workers=int(workers), quiet="quiet" in options,
                                scheduler=options.get("scheduler", [None])[0])


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
    """One OpenBLAS thread per worker, the core type as here: OpenBLAS reads
    them once, when numpy or Caffe loads it, so they go in before the worker starts."""
    env = {"OPENBLAS_NUM_THREADS": "1", "GLOG_minloglevel": "2"}
    if os.environ.get("OPENBLAS_CORETYPE"):
        env["OPENBLAS_CORETYPE"] = os.environ["OPENBLAS_CORETYPE"]
    return env


@contextlib.contextmanager
def connect(options):
    """A Dask client: of the cluster at --scheduler, or of a LocalCluster of
    one-thread worker processes made (and closed) here."""
    from distributed import Client, LocalCluster
    if options["scheduler"]:
        try:
            client = Client(options["scheduler"], timeout=30)
        except (OSError, TimeoutError) as error:
            raise UserError(f"--scheduler {options['scheduler']}: cannot connect ({grid.one_line(error)})") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=options["workers"], threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, env=worker_environment(), silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        yield client


def main(argv=None):
    from distributed import as_completed
    from tqdm import tqdm
    program, flags, options = parse_command(sys.argv[1:] if argv is None else argv)
    output_dir = options["output_dir"]
    groups = plan(program, flags, output_dir)
    points = [point for _, _, group in groups for point in group]
    for folder in sorted({folder for _, _, folder in points}):
        os.makedirs(folder, exist_ok=True)
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
    failed, warned = 0, set()  # failed: for the bar
    swept = [flag for flag, values in flags if len(values) > 1 and flag not in NEUTRAL | {program.unit_flag}]
    if chunks:
        name = next(key for key, value in PROGRAMS.items() if value in (program, getattr(program, "program", None)))
        with connect(options) as client:  # SIGTERM stops it as Ctrl-C does (cli.run)
            def say(line):  # above the bar, or alone with --quiet
                tqdm.write(line, file=sys.stderr)
            bar = tqdm(total=len(points), initial=len(points) - todo, unit="point", disable=options["quiet"],
                       dynamic_ncols=True, file=sys.stderr)
            futures = {client.submit(run_chunk, name, chunk_argv, pure=False): chunk_points
                       for chunk_argv, chunk_points in chunks}
            try:
                for future in as_completed(futures):
                    chunk_points = futures.pop(future)
                    failed += finish(output_dir, future, chunk_points, warned, say,
                                      swept + [program.unit_flag])
                    bar.set_postfix(workers=len(client.scheduler_info()["workers"]), failed=failed, refresh=False)
                    bar.update(len(chunk_points))
            except KeyboardInterrupt:
                client.cancel(list(futures))
                bar.close()
                print(f"sweep.py: stopped; the finished points are in {os.path.join(output_dir, grid.RECORD)}: "
                      f"run the same command to do the rest", file=sys.stderr)
                raise
            bar.close()
    records = grid.read_records(output_dir)
    done = [records[grid.key_of(params)] for params, _, _ in points
            if grid.finished(output_dir, records.get(grid.key_of(params)))]
    gallery.write(output_dir, done, swept)
    print(f"sweep.py: {len(done)} of {len(points)} points done, {len(points) - len(done)} failed; "
          f"{os.path.join(output_dir, gallery.PAGE)}", file=sys.stderr)
    return 0 if len(done) == len(points) else 1


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
    for (params, _, _), (files, activation) in zip(points, done["results"]):
        entry = grid.record(output_dir, params, files, activation=activation, worker=done["worker"],
                            seconds=done["seconds"] / len(points), openblas_threads=done["openblas"])
        grid.append(output_dir, entry)
    return 0


if __name__ == "__main__":
    import sweep  # the workers find run_chunk (and their loaded nets) in the module, not in __main__
    run(sweep.main)
