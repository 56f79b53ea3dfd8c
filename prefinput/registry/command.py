"""nets/download.sh: fetch the registry's models, list them, or install a
copy obtained elsewhere.

    python -m prefinput.registry.command NAME... | all     fetch (what is missing)
    python -m prefinput.registry.command --list            present / missing / corrupt
    python -m prefinput.registry.command --install NAME FILE   put a copy obtained elsewhere in place
"""
import os
import sys

from prefinput.cli import ArgumentParser, run
from prefinput.errors import UserError
from prefinput.registry import catalogue
from prefinput.registry.catalogue import FETCH_COMMAND, MODELS, model, nets_dir
from prefinput.registry.fetching import fetch, install, offline_by_env, state

INCOMPLETE = ("missing", "partial", "corrupt")


def listing(root=None, models=MODELS):
    """Per model, a line naming it and its licence, then one line per file:
    state, size on disk (a missing file's expected size in parentheses), path
    under nets_dir; and the (model, file, state) of each file that is missing,
    partial or corrupt."""
    root = root or nets_dir()
    lines, incomplete = [], []
    for m in models:
        lines.append(f"{m.name}: {m.about}. Licence: {m.licence}")
        for f in m.files:
            found = state(f, root)
            lines.append(f"  {found:10} {_on_disk(f, root):>11}  {f.dest}")
            if found in INCOMPLETE:
                incomplete.append((m, f, found))
    return lines, incomplete


def _on_disk(f, root):
    path = os.path.join(root, f.dest)
    for present in (path, path + ".part"):
        if os.path.exists(present):
            return _size(os.path.getsize(present))
    return f"({_size(f.size)})"


def _size(size):
    if size is None:
        return "?"
    if size < 2**10:
        return f"{size} B"
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 2**10:.1f} kB"


def main(argv=None):
    parser = ArgumentParser(prog=FETCH_COMMAND, description=(
        "Fetch the models and data files of the original programs into NETS_DIR "
        "(default: nets/), verified by checksum: every name given, each failure "
        "reported at the end (exit status 1)."), epilog=(
        "Environment: NETS_DIR, PREFINPUT_MIRROR (a URL or folder with a copy of the "
        "hosts), PREFINPUT_OFFLINE=1 (fetch nothing; name what is missing)."))
    parser.add_argument("names", nargs="*", help="model names, or 'all'; see --list")
    parser.add_argument("--list", action="store_true", help="show each file: ok, missing, partial, corrupt or "
                        "unverified, and its size on disk; exit status 1 when one is missing, partial or corrupt")
    parser.add_argument("--install", nargs=2, metavar=("NAME", "FILE"), help="copy FILE, obtained elsewhere and "
                        "named as upstream, into place for model NAME, once it matches the known checksums")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    registry = catalogue.MODELS  # read here, not bound at definition: tests put their own in
    if sum(map(bool, (args.names, args.list, args.install))) != 1:
        parser.error("give model names, 'all', --list or --install NAME FILE (one of them)")
    if args.list:
        print(f"under {nets_dir()}:")
        lines, incomplete = listing(models=registry)
        print("\n".join(lines))
        return 1 if incomplete else 0
    if args.install:
        name, source = args.install
        m = model(name, registry)
        for path in install(m, source):
            print(f"{m.name}: installed {path}")
        return 0
    chosen = registry if "all" in args.names else [model(name, registry) for name in args.names]
    if offline_by_env():
        return _offline(chosen)
    failures = []
    for m in chosen:
        try:
            fetched = fetch(m, progress=not args.quiet)
        except UserError as error:
            failures.append(error)
            continue
        print(f"{m.name}: {'fetched ' + str(len(fetched)) + ' file(s)' if fetched else 'all files present'}")
    for error in failures:
        print(f"{FETCH_COMMAND}: error: {error}", file=sys.stderr)
    return 1 if failures else 0


def _offline(chosen):
    """PREFINPUT_OFFLINE=1: one line per file that would be fetched; nothing is."""
    root = nets_dir()
    _lines, incomplete = listing(root, chosen)
    for m, f, found in incomplete:
        print(f"{FETCH_COMMAND}: error: {m.name}: {os.path.join(root, f.dest)} is "
              f"{'partly downloaded' if found == 'partial' else found} and downloads are off (PREFINPUT_OFFLINE); "
              f"unset it to fetch, or see {FETCH_COMMAND} --install", file=sys.stderr)
    lacking = {m.name for m, _f, _found in incomplete}
    for m in chosen:
        if m.name not in lacking:
            print(f"{m.name}: all files present")
    return 1 if incomplete else 0


if __name__ == "__main__":
    sys.argv[0] = FETCH_COMMAND  # errors name the script the user ran
    run(main)
