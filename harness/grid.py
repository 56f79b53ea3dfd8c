"""What sweep.py is made of that needs no program: the grid of flags, where
each point's files go, and the resumable record OUTPUT_DIR/sweep.jsonl.

    split_flags(["--unit", "1-3", "--seed", "0", "1", "--save_raw"])
        -> [("unit", ["1-3"]), ("seed", ["0", "1"]), ("save_raw", [])]
    expand_units(["1-3", "7"]) -> ["1", "2", "3", "7"]    ("all" needs the blob's size)
"""
import errno
import itertools
import json
import os
import re
import urllib.parse

from prefinput.digests import file_digest
from prefinput.errors import UserError
from prefinput.files import atomic_path, check_regular_file, full_disk_named

RECORD = "sweep.jsonl"


# --- the grid -------------------------------------------------------------------

def split_flags(tokens):
    """The program's flags in order, each with the values after it (or in --flag=value)."""
    flags = []
    for token in tokens:
        if token.startswith("--"):
            flag, equals, value = token[2:].partition("=")
            if not flag:
                raise UserError(f"{token}: expected a flag name after --")
            if any(flag == seen for seen, _ in flags):
                raise UserError(f"--{flag} is given twice: give all its values after one --{flag}")
            flags.append((flag, [value] if equals else []))
        elif not flags:
            raise UserError(f"{token}: expected a flag (--name value ...) before it")
        else:
            flags[-1][1].append(token)
    return flags


def expand_units(specs, size=None):
    """Unit values with ranges (`0-999`, both ends in) and `all` (0 .. size-1)
    written out, each once (a unit given twice is one point)."""
    units = []
    for spec in specs:
        if spec == "all":
            units += [str(unit) for unit in range(size)]
            continue
        match = re.fullmatch(r"(\d+)-(\d+)", spec)
        if match:
            first, last = int(match.group(1)), int(match.group(2))
            if last < first:
                raise UserError(f"--unit {spec}: a range runs from its smaller end, e.g. {last}-{first}")
            units += [str(unit) for unit in range(first, last + 1)]
        else:
            units.append(spec)
    return list(dict.fromkeys(units))


def combinations(flags):
    """Every combination of the flags' values: a list of [(flag, [value]) ...],
    a flag with no value (a switch) kept as it is in each."""
    choices = [[(flag, [value]) for value in values] if values else [(flag, [])] for flag, values in flags]
    return [list(combo) for combo in itertools.product(*choices)]


def argv_of(flags):
    """[(flag, [values])] -> ["--flag", value, ...]"""
    return [token for flag, values in flags for token in [f"--{flag}", *values]]


def params_of(flags):
    """{flag: value} (True for a switch) as sweep.jsonl records a point."""
    return {flag: values[0] if values else True for flag, values in flags}


def folder_of(flags, swept):
    """The point's subfolder: `flag=value,...` for the flags in `swept` (in
    command-line order), so points that differ only in flags the program's
    file names leave out never write the same file; '' when there are none."""
    return ",".join(f"{flag}={urllib.parse.quote(values[0], safe='')}" for flag, values in flags if flag in swept)


def key_of(params):
    return json.dumps(params, sort_keys=True)


# --- sweep.jsonl ------------------------------------------------------------------

def record(output_dir, params, files, **fields):
    """A finished point's line: its params, its files relative to `output_dir` with their digests."""
    relative = [os.path.relpath(path, output_dir) for path in files]
    return dict(params=params, files=relative, sha256=[file_digest(path) for path in files], **fields)


def read_records(output_dir):
    """The lines of OUTPUT_DIR/sweep.jsonl, the last one per point winning; a
    line torn by a crash mid-append is dropped from the file first, so the
    next append starts a line of its own."""
    path = os.path.join(output_dir, RECORD)
    if not os.path.lexists(path):
        return {}
    check_regular_file(path, "move it away: the sweep keeps its record of finished points in this file")
    with open(path, "rb") as f:
        data = f.read()
    whole = data[:data.rfind(b"\n") + 1]
    if whole != data:
        with atomic_path(path) as temporary, open(temporary, "wb") as out:
            out.write(whole)
    records = {}
    for line in whole.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not is_record(entry):
            raise UserError(f"{path}: not a sweep record: {line[:80]!r}; move the file away to start afresh")
        records[key_of(entry["params"])] = entry
    return records


def is_record(entry):
    """Whether `entry` (a line of sweep.jsonl, parsed) is what `record` or a failure writes."""
    def strings(value):
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if not (isinstance(entry, dict) and isinstance(entry.get("params"), dict)):
        return False
    if "error" in entry:
        return isinstance(entry["error"], str)
    return strings(entry.get("files")) and strings(entry.get("sha256")) and \
        len(entry["files"]) == len(entry["sha256"])


def finished(output_dir, entry):
    """Whether a record's point is done: it did not fail and its files are there, unchanged."""
    if entry is None or "error" in entry:
        return False
    paths = [os.path.join(output_dir, name) for name in entry["files"]]
    return all(os.path.isfile(path) for path in paths) and [file_digest(path) for path in paths] == entry["sha256"]


def append(output_dir, entry):
    """Add one line to sweep.jsonl in a single write: the file grows by whole
    lines (renaming a new copy per point would rewrite it all each time)."""
    line = (json.dumps(entry, sort_keys=True) + "\n").encode()
    path = os.path.join(output_dir, RECORD)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        with full_disk_named(path):
            if os.write(fd, line) != len(line):  # a full disk takes what fits
                raise OSError(errno.ENOSPC, "no space left")
            os.fsync(fd)
    finally:
        os.close(fd)


def one_line(error):
    """An exception as the one-line reason a failed point is recorded with."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def openblas_threads():
    """The most threads any OpenBLAS loaded in this process will use (numpy's
    and Caffe's are two libraries; each read OPENBLAS_NUM_THREADS when it loaded)."""
    import ctypes
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "openblas" in line.rsplit("/", 1)[-1]}
    counts = []
    for path in sorted(paths):
        library = ctypes.CDLL(path)
        for symbol in ("openblas_get_num_threads", "openblas_get_num_threads64_",
                       "scipy_openblas_get_num_threads64_"):
            if hasattr(library, symbol):
                counts.append(getattr(library, symbol)())
                break
    return max(counts, default=0)
