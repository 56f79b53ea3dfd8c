#!/bin/sh
# Patch your own Caffe net definition the way the harness patches the
# originals' nets: force_backward, no cuDNN engine without cuDNN, a flexible
# Reshape batch; optionally out-of-place ReLUs and a batch size.
#
#   nets/patch_prototxt.sh deploy.prototxt [-o OUT] [--relu-out-of-place] [--batch-size N] ...
#
# Writes deploy.patched.prototxt beside it (see --help); deploy.prototxt is untouched.
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
[ -x "$python" ] || python=python3
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m prefinput.prototxt "$@"
