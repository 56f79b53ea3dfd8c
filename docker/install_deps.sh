#!/usr/bin/env bash
# Debian packages the harness needs: Caffe's build dependencies, Debian's
# python3 (libcaffe links its libpython), ImageMagick for labels and montages;
# with --tests also what only the test suite needs (Chromium for the sweep
# gallery's browser test), which the Docker images leave out; with --blas blis
# Debian's BLIS for docker/build_caffe.sh --blas blis (the other BLASes need
# nothing more: Debian's OpenBLAS is the default, the wheels come from PyPI).
#   docker/install_deps.sh [--tests] [--blas NAME]
# Run as root on Debian bookworm; used by `make setup` (with --tests) and the Dockerfiles.
set -euo pipefail
packages=(
  # Caffe build
  build-essential cmake patch ca-certificates curl git
  libboost-filesystem-dev libboost-system-dev libboost-thread-dev libboost-python-dev
  libgflags-dev libgoogle-glog-dev libhdf5-dev libprotobuf-dev protobuf-compiler
  libopenblas-dev
  # Python (Caffe's CMake builds pycaffe only where python3 has NumPy)
  python3 python3-dev python3-venv python3-numpy
  # Labels and montages through Wand
  libmagickwand-6.q16-6 imagemagick fonts-dejavu-core
)
while [ $# -gt 0 ]; do
  case $1 in
    --tests) packages+=(chromium) ;;  # the sweep gallery's test opens the page in a real headless browser
    --blas)
      case ${2:-} in
        blis) packages+=(libblis-pthread-dev) ;;  # pthreads, as Debian's OpenBLAS; not the default libblas.so.3
        openblas|scipy-openblas|mkl) ;;
        *) echo "install_deps.sh: --blas must be one of openblas, scipy-openblas, blis, mkl, not '${2:-}'" >&2; exit 2 ;;
      esac
      shift ;;
    *) echo "install_deps.sh: unknown option '$1' (--tests, --blas NAME)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$(id -u)" != 0 ]; then
  echo "install_deps.sh: run as root (it installs Debian packages with apt-get)" >&2
  exit 1
fi
if dpkg-query -W -f='${Status}\n' "${packages[@]}" 2>/dev/null | grep -qv '^install ok installed$' \
   || [ "$(dpkg-query -W -f='${Status}\n' "${packages[@]}" 2>/dev/null | wc -l)" -ne ${#packages[@]} ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}"
else
  echo "==> Debian packages already installed"
fi
