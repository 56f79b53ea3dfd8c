"""Writing files so that nothing is ever left half-written.

A temporary (`.XXXXXXXX.part.jpg` beside its file, `NAME.new-XXXXXXXX/`
beside its folder, `NAME.old-XXXXXXXX/` while a folder is replaced) holds a
lock (flock) while its writer lives: one nobody holds was left by a killed
run (SIGKILL, a power cut), and `clean_stale` tidies it away."""
import contextlib
import errno
import fcntl
import glob
import os
import re
import shutil
import signal
import stat
import tempfile

from prefinput.errors import UserError


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


class DiskFull(UserError):
    """The file system filled up (or a quota was reached) while writing `path`."""

    def __init__(self, path):
        super().__init__(f"{path}: no space left on the device while writing it (the earlier files are kept); "
                         f"free some space or write elsewhere")


FULL = (errno.ENOSPC, errno.EDQUOT)
STALE_FILE = re.compile(r"\.[a-z0-9_]{8}\.part(\.[^.]+)?")           # atomic_path's temporaries
STALE_FOLDER = re.compile(r"(.+)\.(new|old)-[a-z0-9_]{8}")            # atomic_folder's, replace_folder's


@contextlib.contextmanager
def full_disk_named(path):
    """A full disk's (or quota's) OSError in the block becomes DiskFull naming `path`."""
    try:
        yield
    except OSError as error:
        if error.errno in FULL:
            raise DiskFull(path) from None
        raise


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary name beside `path` (same extension, so writers that
    pick a format by extension still work; short, so a name that fits fits
    with it); on success it is renamed onto `path`, on error removed, so
    `path` is either the old file or the new one.  A full disk is one line
    (DiskFull) naming `path`."""
    path = os.fspath(path)
    directory = os.path.dirname(path)
    extension = os.path.splitext(path)[1]
    # Ctrl-C or SIGTERM between making the temporary and guarding it would
    # leave it behind: they wait until the try below
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        with full_disk_named(path):
            fd, temporary = tempfile.mkstemp(prefix=".", suffix=f".part{extension}", dir=directory or ".")
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        raise
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        fcntl.flock(fd, fcntl.LOCK_EX)  # held while we live: not stale
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 would stick to the output
        yield temporary
        os.replace(temporary, path)
    except BaseException as error:
        # ImageMagick's write errors carry no errno: a file system left full by the failed write tells
        code = getattr(error, "errno", None)
        full = code in FULL or code is None and isinstance(error, Exception) and _full(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if full:
            raise DiskFull(path) from None
        raise
    finally:
        os.close(fd)


def _full(fd):
    """Whether the file system of `fd` has no block left (for this user: root may use the reserved ones)."""
    space = os.fstatvfs(fd)
    return (space.f_bfree if os.geteuid() == 0 else space.f_bavail) == 0


def save_npz(path, **arrays):
    """np.savez(path, **arrays) through atomic_path, the zip file closed even
    when a write fails (NumPy leaves that to the garbage collector, which
    would print the error again, as a traceback)."""
    import zipfile
    import numpy as np
    with atomic_path(path) as temporary, zipfile.ZipFile(temporary, "w", allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asanyarray(array), allow_pickle=False)


def save_raw(picture, **arrays):
    """--save_raw: the arrays `picture` was made from, in <picture minus its
    extension>.npz beside it (save_npz); returns that path."""
    path = os.path.splitext(picture)[0] + ".npz"
    save_npz(path, **arrays)
    return path


def _existing(path):
    """`path`, or its nearest parent that exists."""
    existing = os.path.abspath(path or ".")
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    return existing


def too_long(path):
    """Why `path` cannot be a name on its file system (a part longer than
    NAME_MAX bytes, or the whole longer than PATH_MAX), or None when it can."""
    existing = _existing(os.path.dirname(os.path.abspath(path)))
    whole = os.fsencode(os.path.abspath(path))
    name_max, path_max = os.pathconf(existing, "PC_NAME_MAX"), os.pathconf(existing, "PC_PATH_MAX")
    longest = max(whole.split(b"/"), key=len)
    if len(longest) > name_max:
        return (f"the name {os.fsdecode(longest[:40])}... is {len(longest)} bytes, more than the file system "
                f"holds ({name_max}); make it shorter")
    if len(whole) >= path_max:
        return f"the path is {len(whole)} bytes, more than the file system holds ({path_max - 1}); make it shorter"
    return None


def check_name(path, what):
    """Stop with one line unless `path` fits its file system (see too_long): before the work, not after it."""
    problem = too_long(path)
    if problem:
        raise UserError(f"{what} {path}: {problem}")


def unwritable(folder):
    """Why no file can be written in `folder`, or in the folder its nearest
    existing parent would hold (it is made later); None when one can."""
    problem = too_long(os.path.join(folder or ".", "x"))
    if problem:
        return problem
    existing = _existing(folder)
    if not os.path.isdir(existing):
        return f"{existing} is a file, not a folder; give another folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable; give a folder you can write to"
    return None


KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device",
         stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def check_regular_file(path, fix="give the file itself"):
    """Stop with one line unless `path` (followed if a link) is a regular
    file: reading a FIFO or a device would block or never end."""
    kind = stat.S_IFMT(os.stat(path).st_mode)
    if kind != stat.S_IFREG:
        raise UserError(f"{path} is {KINDS.get(kind, 'not a regular file')}, not a file; {fix}")


def check_folder(folder, what):
    """Stop with one line unless files can be written in `folder` (see unwritable)."""
    problem = unwritable(folder)
    if problem:
        raise UserError(f"{what} {folder}: {problem}")


def check_output_file(path, what, formats):
    """Stop with one line unless `path` can be written: its folder (see
    unwritable), not a folder itself, and an extension in `formats` (lower
    case, with the dot) that picks the writer's format."""
    if os.path.isdir(path):
        raise UserError(f"{what} {path}: is a folder; give a file name, e.g. {os.path.join(path, 'out.jpg')}")
    problem = unwritable(os.path.dirname(path)) or too_long(path)
    if problem:
        raise UserError(f"{what} {path}: {problem}")
    extension = os.path.splitext(path)[1].lower()
    if extension not in formats:
        raise UserError(f"{what} {path}: {extension or 'no extension'} is not an image format this can write; "
                        f"end the name in .jpg or .png")


def cache_folder(variable, name):
    """A cache folder of ours: $`variable`, else
    ${XDG_CACHE_HOME:-~/.cache}/preferred-inputs/`name`."""
    folder = os.environ.get(variable)
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = os.path.join(base, "preferred-inputs", name)
    return os.path.abspath(os.path.expanduser(folder))


@contextlib.contextmanager
def atomic_folder(path, replacing=None):
    """Yield a new empty folder beside `path`.  On success it takes the place
    of `path` (whatever was there is removed only once the new folder is in),
    or with `replacing` (a glob pattern) only the files of `path` it matches
    make way for the new files and the rest stay; on an error or an
    interruption `path` is left as it was, and the new folder is kept as
    `<path>.partial` (`.partial-2`, ... when taken) if anything was written
    into it, else removed."""
    path = os.fspath(path).rstrip(os.sep)
    directory, name = os.path.split(path)
    os.makedirs(directory or ".", exist_ok=True)
    with full_disk_named(path):
        new = tempfile.mkdtemp(prefix=f"{name}.new-", dir=directory or ".")
    os.chmod(new, 0o777 & ~_umask())  # mkdtemp's 0700 would stick to the output
    try:
        with _held(new):
            yield new
    except BaseException:
        keep_partial(new, path)
        raise
    if replacing is None:
        replace_folder(new, path)
        return
    os.makedirs(path, exist_ok=True)
    for old in glob.glob(os.path.join(path, replacing)):
        os.remove(old)
    for made in os.listdir(new):
        os.replace(os.path.join(new, made), os.path.join(path, made))
    os.rmdir(new)


def replace_folder(new, path):
    """Rename folder `new` onto `path`, moving what is there aside first and
    removing it only once `new` is in place (a rename cannot replace a full folder)."""
    if not os.path.lexists(path):
        os.rename(new, path)
        return
    directory, name = os.path.split(path)
    aside = tempfile.mkdtemp(prefix=f"{name}.old-", dir=directory or ".")
    with _held(aside):
        try:
            os.rename(path, os.path.join(aside, name))
            os.rename(new, path)
        except BaseException:
            put_back(aside, path)
            raise
        shutil.rmtree(aside)


def keep_partial(new, path):
    """A new folder that did not make it: kept as `<path>.partial` (-2, ...) if anything was written into it."""
    if os.listdir(new):
        os.rename(new, free_name(path + ".partial"))
    else:
        os.rmdir(new)


def put_back(aside, path):
    """Undo replace_folder's first move, if the new folder is not in place; then drop `aside`."""
    moved = os.path.join(aside, os.path.basename(path))
    if os.path.lexists(moved) and not os.path.lexists(path):
        os.rename(moved, path)
    shutil.rmtree(aside)


def free_name(path):
    """`path`, or `path-2`, `path-3`, ...: the first that does not exist."""
    candidate, n = path, 1
    while os.path.lexists(candidate):
        n += 1
        candidate = f"{path}-{n}"
    return candidate


@contextlib.contextmanager
def _held(folder):
    """Hold a lock on `folder` (its flock) while the block runs: a live temporary folder, not a stale one."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _kind(path):
    """The file type bits of `path` itself (a link is a link), None when it has gone."""
    try:
        return stat.S_IFMT(os.lstat(path).st_mode)
    except FileNotFoundError:
        return None


def _unheld(path):
    """An fd of `path` (not followed if a link) with its lock taken, or None
    when a live writer holds it (or it went)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def clean_stale(folder):
    """Tidy away the temporaries in `folder` that no live writer holds (left
    by a run killed with SIGKILL): a file is removed (it was never whole), a
    new folder kept as `.partial` as an interrupted run keeps it, a folder
    set aside while being replaced put back if the new one is not in place."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in names:
        path = os.path.join(folder, name)
        file, other = STALE_FILE.fullmatch(name), STALE_FOLDER.fullmatch(name)
        if not (file and _kind(path) == stat.S_IFREG or other and _kind(path) == stat.S_IFDIR):
            continue
        fd = _unheld(path)
        if fd is None:
            continue
        try:
            if file:
                os.unlink(path)
            elif other.group(2) == "new":
                keep_partial(path, os.path.join(folder, other.group(1)))
            else:
                put_back(path, os.path.join(folder, other.group(1)))
        finally:
            os.close(fd)


@contextlib.contextmanager
def hold_output_folder(folder, what):
    """Make `folder` and hold it (a lock on it) while the block runs: a
    second run into it at once stops here in one line, instead of both
    writing (the samples/ of one chain would replace the other's); then tidy
    away what a killed run left in it (clean_stale).  The kernel lets go
    when the process ends, however it ends.  A file system that cannot lock
    (some network ones) runs unguarded."""
    os.makedirs(folder, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"{what} {folder}: another run is writing into this folder now; wait until it ends, "
                            f"or give another folder") from None
        except OSError:
            pass
        clean_stale(folder)
        yield
    finally:
        os.close(fd)
