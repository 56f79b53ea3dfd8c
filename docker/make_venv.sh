#!/usr/bin/env bash
# Make the virtual environment: from Debian's /usr/bin/python3 (libcaffe links
# Debian's libpython; another Python would put two libpythons in one process),
# with the pinned packages, and with pycaffe and this repository importable
# through a .pth file, so no PYTHONPATH is needed.
#
#   docker/make_venv.sh [VENV_DIR]      (default: .venv in the repository)
# Environment: CAFFE_PREFIX (default build/caffe, as docker/build_caffe.sh installs it)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$repo/.venv}
caffe_python=${CAFFE_PREFIX:-$repo/build/caffe}/lib/python3/dist-packages

[ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$repo/requirements.lock"
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
printf '%s\n%s\n' "$repo" "$caffe_python" > "$site/preferred_inputs.pth"
"$venv/bin/python" -c 'import caffe, prefinput; print("==> pycaffe", caffe.__file__)'
