#!/bin/sh
# Fetch the models and data files of the original programs, verified by checksum.
#
#   nets/download.sh NAME...    e.g. caffenet upconv act_range (see --list)
#   nets/download.sh all        every name is tried; the failures are listed at the end
#   nets/download.sh --list     each file: ok, missing, partial, corrupt or unverified
#   nets/download.sh --install NAME FILE   a copy obtained elsewhere, checked and put in place
#
# Files go under NETS_DIR (default: this folder).  PREFINPUT_MIRROR=URL-or-folder
# fetches from a mirror instead of the upstream hosts (see docs/nets.md);
# PREFINPUT_OFFLINE=1 fetches nothing and names what is missing.
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
[ -x "$python" ] || python=python3
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m prefinput.registry.command "$@"
