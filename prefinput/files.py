"""Writing files so that nothing is ever left half-written."""
import contextlib
import glob
import os
import shutil
import signal
import tempfile

from .cli import UserError


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary name beside `path` (same extension, so writers that
    pick a format by extension still work); on success it is renamed onto
    `path`, on error removed, so `path` is either the old file or the new one."""
    path = os.fspath(path)
    directory, name = os.path.split(path)
    stem, extension = os.path.splitext(name)
    # Ctrl-C or SIGTERM between making the temporary and guarding it would
    # leave it behind: they wait until the try below
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".part{extension}", dir=directory or ".")
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        raise
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.close(fd)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 would stick to the output
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def unwritable(folder):
    """Why no file can be written in `folder`, or in the folder its nearest
    existing parent would hold (it is made later); None when one can."""
    existing = os.path.abspath(folder or ".")
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"{existing} is a file, not a folder; give another folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable; give a folder you can write to"
    return None


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
    problem = unwritable(os.path.dirname(path))
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
    new = tempfile.mkdtemp(prefix=f"{name}.new-", dir=directory or ".")
    os.chmod(new, 0o777 & ~_umask())  # mkdtemp's 0700 would stick to the output
    try:
        yield new
    except BaseException:
        if os.listdir(new):
            os.rename(new, free_name(path + ".partial"))
        else:
            os.rmdir(new)
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
    moved = os.path.join(aside, name)
    try:
        os.rename(path, moved)
        os.rename(new, path)
    except BaseException:
        if os.path.lexists(moved) and not os.path.lexists(path):
            os.rename(moved, path)
        if not os.path.lexists(moved):
            os.rmdir(aside)
        raise
    shutil.rmtree(aside)


def free_name(path):
    """`path`, or `path-2`, `path-3`, ...: the first that does not exist."""
    candidate, n = path, 1
    while os.path.lexists(candidate):
        n += 1
        candidate = f"{path}-{n}"
    return candidate
