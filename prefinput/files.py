"""Writing files so that nothing is ever left half-written."""
import contextlib
import os
import tempfile


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
    fd, temporary = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".part{extension}", dir=directory or ".")
    os.close(fd)
    os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 would stick to the output
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
