"""Download files over HTTP so that nothing half-done ever passes for complete.

A download goes to `<dest>.part`, resumes from it with a Range request when
the server allows (else starts again), and is renamed onto `<dest>` only once
complete and matching all its checksums.  A file with a wrong checksum is kept
aside as `<dest>.bad` and never installed.  Only the standard library's
urllib is used, plus tqdm for the progress bar on stderr.
"""
import contextlib
import http.client
import os
import re
import shutil
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile

from tqdm import tqdm

from prefinput.digests import file_digest

CHUNK = 1 << 20
TIMEOUT = 30  # seconds without data before giving up on a connection
ATTEMPTS = 5  # per URL, as long as each attempt gets further


class DownloadError(Exception):
    """A download or extraction that failed; the message is one line."""


def fetch(urls, dest, *, checksums=(), label=None, progress=True):
    """Download `dest` from the first of `urls` that works and matches every
    one of `checksums` ("sha256:<hex>", "sha1:<hex>")."""
    label = label or os.path.basename(dest)
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    part, reasons = dest + ".part", []
    for url in urls:
        try:
            _transfer(url, part, label, progress)
            verify(part, checksums, keep_bad_as=dest + ".bad")
        except DownloadError as error:
            reasons.append(f"{url}: {error}")
            continue
        os.replace(part, dest)
        return url
    raise DownloadError("; ".join(reasons) or "no URL to download from")


def verify(path, checksums, *, keep_bad_as=None):
    """Raise DownloadError unless `path` matches every one of `checksums`
    (none: nothing to check); a mismatching file is moved to `keep_bad_as`
    when given."""
    for algorithm, expected in (checksum.split(":", 1) for checksum in checksums):
        got = file_digest(path, algorithm)
        if got != expected:
            break
    else:
        return
    aside = ""
    if keep_bad_as:
        os.replace(path, keep_bad_as)
        aside = f"; the file is kept aside as {keep_bad_as}"
    raise DownloadError(f"checksum mismatch: {algorithm} {got}, expected {expected}{aside}")


def _transfer(url, part, label, progress):
    """Fill `part` with the body at `url`, resuming what is already there;
    try again while each attempt gets further."""
    for _ in range(ATTEMPTS):
        before = _size(part)
        try:
            if _attempt(url, part, label, progress):
                return
        except urllib.error.HTTPError as error:
            if error.code == 416 and before:  # our .part is no prefix of it: start again
                os.remove(part)
                continue
            raise DownloadError(f"HTTP {error.code} {error.reason}") from None
        except urllib.error.URLError as error:
            raise DownloadError(_reason(error.reason)) from None
        except (OSError, http.client.HTTPException) as error:
            if _size(part) <= before:
                raise DownloadError(f"connection lost: {_reason(error)}") from None
    raise DownloadError(f"incomplete after {ATTEMPTS} attempts; run again to resume")


def _attempt(url, part, label, progress):
    """One request; True when the body arrived complete."""
    have = _size(part)
    request = urllib.request.Request(url, headers={"User-Agent": "prefinput"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        partial = getattr(response, "status", None) == 206
        if partial and _range_start(response) != have:
            if have:
                os.remove(part)  # a piece we did not ask for: start again
            return False
        resumed = partial and have
        offset = have if resumed else 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        with open(part, "ab" if resumed else "wb") as out, \
                tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                     desc=label, file=sys.stderr, disable=not progress, leave=True) as bar:
            for block in iter(lambda: response.read(CHUNK), b""):
                out.write(block)
                bar.update(len(block))
    return total is None or _size(part) == total


def _range_start(response):
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _reason(reason):
    return getattr(reason, "strerror", None) or str(reason) or type(reason).__name__


# --- archives -------------------------------------------------------------

def extract(archive, member, dest, *, checksums=()):
    """Write archive member `member` (its path, or a unique base name) to
    `dest` through `<dest>.part`; refuse archives holding absolute or `..`
    paths, members that are not plain files, and members larger than the
    free space (the `.part` of an extraction that fails is removed)."""
    part = dest + ".part"
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    try:
        with _member(archive, member, dest) as src, _removed_on_failure(part), open(part, "wb") as out:
            _copy(src, out)
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError) as error:
        raise DownloadError(f"{os.path.basename(archive)}: cannot extract {member}: {_reason(error)}") from None
    verify(part, checksums, keep_bad_as=dest + ".bad")
    os.replace(part, dest)


@contextlib.contextmanager
def _member(archive, member, dest):
    """The archive's member `member`, open for reading, once it passed the checks of extract."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            name = _pick(archive, [i.filename for i in z.infolist() if not i.is_dir()], member)
            _check_space(archive, name, z.getinfo(name).file_size, dest)
            with z.open(name) as src:
                yield src
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as t:
            infos = [i for i in t.getmembers() if not i.isdir()]
            name = _pick(archive, [i.name for i in infos], member)
            info = next(i for i in infos if i.name == name)
            if not info.isfile():
                raise DownloadError(f"{os.path.basename(archive)}: member {name} is not a plain file")
            _check_space(archive, name, info.size, dest)
            with t.extractfile(info) as src:
                yield src
    else:
        raise DownloadError(f"{os.path.basename(archive)} is neither a zip nor a tar archive")


@contextlib.contextmanager
def _removed_on_failure(path):
    try:
        yield
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        raise


def _check_space(archive, name, size, dest):
    """Refuse a member larger than the free space where it goes (the size the archive declares
    is all that zipfile and tarfile read)."""
    free = shutil.disk_usage(os.path.dirname(os.path.abspath(dest))).free
    if size > free:
        raise DownloadError(f"{os.path.basename(archive)}: {name} needs {size} bytes, only {free} are free in "
                            f"{os.path.dirname(os.path.abspath(dest))}; free some space or set NETS_DIR elsewhere")


def unsafe_member(name):
    """Whether an archive member name would escape the folder it is unpacked in."""
    parts = re.split(r"[\\/]+", name)
    return name.startswith(("/", "\\")) or bool(re.match(r"[A-Za-z]:", name)) or ".." in parts


def _pick(archive, names, member):
    bad = [n for n in names if unsafe_member(n)]
    if bad:
        raise DownloadError(f"{os.path.basename(archive)} refused: it holds an absolute or '..' path ({bad[0]})")
    clean = {re.sub(r"^(\./)+", "", n): n for n in names}
    if member in clean:
        return clean[member]
    same_base = [n for n in clean if os.path.basename(n) == member]
    if len(same_base) == 1:
        return clean[same_base[0]]
    raise DownloadError(f"{os.path.basename(archive)} has no single member {member}")


def _copy(src, out):
    for block in iter(lambda: src.read(CHUNK), b""):
        out.write(block)
