#!/bin/sh
# Fetch the models and data files of the original programs, verified by checksum.
#
#   nets/download.sh NAME...    e.g. caffenet upconv act_range (see --list)
#   nets/download.sh all
#   nets/download.sh --list     each file: ok, missing, partial, corrupt or unverified
#
# Files go under NETS_DIR (default: this folder).  PREFINPUT_MIRROR=URL-or-folder
# fetches from a mirror instead of the upstream hosts (see docs/nets.md).
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
[ -x "$python" ] || python=python3
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m prefinput.models "$@"
