#!/bin/sh
# Patch your own Caffe net definition the way the harness patches the
# originals' nets: force_backward, no cuDNN engine without cuDNN, a flexible
# Reshape batch; optionally out-of-place ReLUs and a batch size.
#
#   nets/patch_prototxt.sh deploy.prototxt [-o OUT] [--relu-out-of-place] [--batch-size N] ...
#
# Prints the path of the patched copy; deploy.prototxt is untouched. The copy
# is deploy.patched.prototxt beside it when it lies under NETS_DIR, else in a
# cache keyed by its content and the options,
# ${PREFINPUT_PROTOTXT_CACHE:-${XDG_CACHE_HOME:-~/.cache}/preferred-inputs/prototxt}/<key>/
# (see --help).
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
[ -x "$python" ] || python=python3
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m prefinput.netdefs.prototxt "$@"
