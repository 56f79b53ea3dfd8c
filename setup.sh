#!/usr/bin/env bash
# Everything the harness needs, on Debian bookworm as root: the Debian
# packages, Caffe and pycaffe built from verified source (cached: a second run
# takes seconds), and the virtual environment .venv.  Then: make test.
# Options go to docker/build_caffe.sh (e.g. --cuda; see its --help).
set -euo pipefail
cd "$(dirname "$0")"
bash docker/install_deps.sh --tests
bash docker/build_caffe.sh "$@"
bash docker/make_venv.sh
echo "==> set up; run the tests with: make test"
