"""Fetching the registry's files, verified by checksum.

Files without a published checksum get theirs recorded at first download,
in `<nets_dir>/RECORDED.sha256`, and are verified against it afterwards; a
checksum is recorded only once the file passed every check (an archive's
members extracted safely, a caffemodel parsed and fitting its definition),
and a refused file is kept aside as `<dest>.bad`, where no later fetch looks.
A present file whose checksum is wrong is fetched again, the bad copy kept
aside as `<dest>.bad`.

PREFINPUT_MIRROR=URL-or-folder fetches everything from a mirror laid out as
`<repository>/<path>` for GitHub files and `<host>/<path>` for the others.
PREFINPUT_OFFLINE=1 makes `require` and the command line report missing files
instead of fetching.
"""
import os
import pathlib
import shutil
import sys
import urllib.parse

from prefinput.digests import file_digest
from prefinput.environment import truthy
from prefinput.errors import UserError
from prefinput.files import atomic_path, check_regular_file
from prefinput.netdefs import modelcheck, prototxt
from prefinput.registry import download
from prefinput.registry.catalogue import FETCH_COMMAND, MODELS, RAW, Archive, nets_dir, provider

RECORD = "RECORDED.sha256"
DEFINITIONS = (".prototxt", ".protxt")


def mirrored(urls):
    """`urls` redirected to $PREFINPUT_MIRROR when it is set (a URL or a folder)."""
    mirror = os.environ.get("PREFINPUT_MIRROR")
    if not mirror:
        return tuple(urls)
    if "://" not in mirror:
        mirror = pathlib.Path(mirror).resolve().as_uri()
    return tuple(dict.fromkeys(f"{mirror.rstrip('/')}/{mirror_path(url)}" for url in urls))


def mirror_path(url):
    """Where a mirror keeps `url`: `<repository>/<path>` for the pinned GitHub
    files (the layout of the originals' checkouts), `<host>/<path>` otherwise."""
    parts = urllib.parse.urlsplit(url)
    if parts.netloc == urllib.parse.urlsplit(RAW).netloc:
        _owner, repo, _commit, path = parts.path.lstrip("/").split("/", 3)
        return f"{repo}/{path}"
    return parts.netloc + parts.path


# --- checksums ------------------------------------------------------------

def recorded(root):
    """{relative path: "sha256:<hex>"} from the record of first downloads."""
    try:
        with open(os.path.join(root, RECORD)) as f:
            lines = [line.rstrip("\n").split("  ", 1) for line in f if line.strip()]
    except FileNotFoundError:
        return {}
    return {path: "sha256:" + digest for digest, path in lines}


def record(root, relative, path):
    """Note the sha256 of the file at `path` under `relative`: later downloads must match it."""
    entries = {p: c.split(":", 1)[1] for p, c in recorded(root).items()}
    entries[relative] = file_digest(path)
    with atomic_path(os.path.join(root, RECORD)) as tmp, open(tmp, "w") as f:
        f.writelines(f"{digest}  {p}\n" for p, digest in sorted(entries.items()))


def expected_checksums(item, relative, root):
    """The published checksums of a File or Archive, else the recorded one, else ()."""
    if item.checksums:
        return item.checksums
    found = recorded(root).get(relative)
    return (found,) if found else ()


def state(f, root):
    """'ok', 'missing', 'partial' (a download to resume), 'corrupt' or
    'unverified' (present, no checksum known yet)."""
    path = os.path.join(root, f.dest)
    if not os.path.exists(path):
        return "partial" if os.path.exists(path + ".part") else "missing"
    checksums = expected_checksums(f, f.dest, root)
    if not checksums:
        return "unverified"

    def matches(checksum):
        algorithm, expected = checksum.split(":", 1)
        # sha256s are remembered by path, size and mtime: every run checks its files
        got = modelcheck.file_sha256(path) if algorithm == "sha256" else file_digest(path, algorithm)
        return got == expected
    return "ok" if all(map(matches, checksums)) else "corrupt"


# --- fetching -------------------------------------------------------------

def fetch_elsewhere(m, f):
    """What to do when fetching file `f` of model `m` just failed (running the
    fetch command again would only repeat it)."""
    name = f.archive.name if f.archive else os.path.basename(f.dest)
    unknown = "" if f.mirrors else "no other address is known for it; "
    return (f"{unknown}point PREFINPUT_MIRROR at a copy of the hosts (see docs/nets.md), or get {name} elsewhere "
            f"and put it in place with: {FETCH_COMMAND} --install {m.name} PATH/TO/{name}")


def fetch(m, files=None, root=None, progress=True):
    """Install the missing `files` of model `m` (default: all of them); return
    the paths downloaded.  A failure is a UserError naming the model, the
    reason for each URL tried, and what to do next."""
    root = root or nets_dir()
    done = []
    for f in files or m.files:
        if _in_place(f, root):
            continue  # present, or extracted with an earlier file of its archive
        try:
            done += _install_from_archive(m, f.archive, root, progress) if f.archive else [_install(f, root, progress, m)]
        except download.DownloadError as error:
            raise UserError(f"{m.name}: {error}; {fetch_elsewhere(m, f)}") from None
    return done


def _in_place(f, root):
    """Whether `f` is installed and not corrupt; a corrupt copy is moved aside
    as `<dest>.bad`, to be fetched again."""
    path = os.path.join(root, f.dest)
    if not os.path.exists(path):
        return False
    if state(f, root) != "corrupt":
        return True
    os.replace(path, path + ".bad")
    print(f"{f.dest}: checksum mismatch; kept aside as {path}.bad, fetching it again", file=sys.stderr)
    return False


def _install(f, root, progress, m):
    dest = os.path.join(root, f.dest)
    checksums = expected_checksums(f, f.dest, root)
    download.fetch(mirrored(f.urls + f.mirrors), dest, checksums=checksums, label=f.dest, progress=progress)
    if not checksums:
        try:
            _accept(m, [f.dest], root, progress)
        except download.DownloadError as error:
            raise _set_aside(root, [f.dest], error) from None
    return dest


def _install_from_archive(m, archive, root, progress):
    """Download `archive` (unless a copy is there, put by --install), extract
    every registry file it holds that is missing, then delete it; the
    checksums of it and its members are recorded only once all passed."""
    relative = f"downloads/{archive.name}"
    path = os.path.join(root, relative)
    if not os.path.exists(path):
        download.fetch(mirrored(archive.urls), path, checksums=expected_checksums(archive, relative, root),
                       label=relative, progress=progress)
    extracted = []
    try:
        for f in m.files:
            if f.archive == archive and not os.path.exists(os.path.join(root, f.dest)):
                download.extract(path, f.member, os.path.join(root, f.dest),
                                 checksums=expected_checksums(f, f.dest, root))
                extracted.append(f.dest)
        unknown = [item for item in [relative, *extracted] if not expected_checksums(_item(m, item), item, root)]
        _accept(m, unknown, root, progress)
    except (download.DownloadError, UserError) as error:
        raise _set_aside(root, [relative, *extracted], error) from None
    os.remove(path)
    return [os.path.join(root, dest) for dest in extracted]


def _set_aside(root, relatives, error):
    """Move the refused files `relatives` aside as `.bad`, where no fetch
    looks; the DownloadError saying so."""
    for relative in relatives:
        os.replace(os.path.join(root, relative), os.path.join(root, relative + ".bad"))
    return download.DownloadError(f"{error}; kept aside as {os.path.join(root, relatives[0])}.bad")


def _item(m, relative):
    """The File or Archive of model `m` installed at `relative`."""
    for f in m.files:
        if f.dest == relative:
            return f
        if f.archive and relative == f"downloads/{f.archive.name}":
            return f.archive
    raise KeyError(relative)


def _accept(m, relatives, root, progress):
    """Record the sha256s of the new files `relatives` of model `m`, none of
    which has a known checksum, once the caffemodels among them parse and fit
    a definition of the model (else a DownloadError, nothing recorded)."""
    for relative in relatives:
        if relative.endswith(".caffemodel"):
            check_weights(m, relative, os.path.join(root, relative), root, progress)
    for relative in relatives:
        record(root, relative, os.path.join(root, relative))


def check_weights(m, relative, path, root, progress=True):
    """Stop with a DownloadError unless the caffemodel at `path` (model `m`'s
    file `relative`) fits one of the model's definitions in its folder
    (fetched first where missing)."""
    folder = os.path.dirname(relative)
    definitions = [f for f in m.files if os.path.dirname(f.dest) == folder and f.dest.endswith(DEFINITIONS)]
    missing = [f for f in definitions if not os.path.exists(os.path.join(root, f.dest))]
    if missing:
        fetch(m, missing, root, progress)
    errors = []
    for f in definitions:
        try:
            modelcheck.check(prototxt.patch(os.path.join(root, f.dest)), path, os.path.join(root, f.dest))
            return
        except UserError as error:
            errors.append(str(error))
    raise download.DownloadError(f"{relative} is not weights for {m.name}: {errors[0] if errors else 'no definition'}")


def install(m, source, root=None):
    """Copy `source`, one of model `m`'s files (or its archive) obtained
    elsewhere and named as in the registry, into place once it matches the
    published or recorded checksums (none known: its sha256 is recorded);
    return the paths installed."""
    root = root or nets_dir()
    what = f"--install {m.name} {source}"
    if not os.path.isfile(source):
        raise UserError(f"{what}: no such file; give the path of the file you obtained")
    items = {os.path.basename(f.dest): (f, f.dest) for f in m.files}
    items.update({f.archive.name: (f.archive, f"downloads/{f.archive.name}") for f in m.files if f.archive})
    name = os.path.basename(source)
    if name not in items:
        raise UserError(f"{what}: {name} is not one of {m.name}'s files ({', '.join(items)}); "
                        "give one of those (renamed if need be)")
    item, relative = items[name]
    checksums = expected_checksums(item, relative, root)
    dest = os.path.join(root, relative)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    try:
        with atomic_path(dest) as temporary:
            shutil.copyfile(source, temporary)
            try:
                download.verify(temporary, checksums)
            except download.DownloadError as error:
                raise download.DownloadError(f"{error}; it is not the registry's {relative}") from None
            if not checksums and relative.endswith(".caffemodel"):
                check_weights(m, relative, source, root, progress=False)
        if not isinstance(item, Archive):
            if not checksums:
                record(root, relative, dest)
            return [dest]
        return _install_from_archive(m, item, root, progress=False)
    except download.DownloadError as error:
        raise UserError(f"{what}: {error}, nothing was installed") from None


def offline_by_env():
    return truthy(os.environ.get("PREFINPUT_OFFLINE", ""))


def require(paths, offline=False, root=None, progress=True, models=MODELS):
    """Make sure every path in `paths` exists, and the registry's files with
    their checksums: fetch those the registry provides (unless offline, by flag
    or PREFINPUT_OFFLINE=1), a corrupt copy kept aside as `.bad`; otherwise stop
    with a UserError saying which model, why, and the command that fetches it."""
    offline = offline or offline_by_env()
    for path in paths:
        found = provider(path, root, models)
        present = os.path.exists(path)
        if present:
            check_regular_file(path)
        if present and (found is None or state(found[1], root or nets_dir()) != "corrupt"):
            continue
        if found is None:
            raise UserError(f"{path} not found, and it is not a file that {FETCH_COMMAND} provides "
                            f"(see {FETCH_COMMAND} --list); check the path")
        m, f = found
        if offline:
            problem = "is corrupt (its checksum is not the registry's)" if present else "is missing"
            raise UserError(f"{m.name}: {path} {problem} and downloads are off (offline); "
                            f"fetch it with: {FETCH_COMMAND} {m.name}")
        fetch(m, [f], root, progress)
