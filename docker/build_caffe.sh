#!/usr/bin/env bash
# Build Caffe and pycaffe from verified source, with our patch series, into a
# relocatable prefix.  Used by `make setup` on the host and by the Dockerfiles.
#
#   docker/build_caffe.sh [--cuda] [--source debian|github] [--prefix DIR] [--no-tests] [--print-key]
#
# The build lives in a cache directory named by a key of its inputs (source
# checksums, our patches, the CMake flags), so running this again with the
# same inputs only copies the finished prefix: a changed input rebuilds.
#
# Environment:
#   CAFFE_CACHE_DIR   where builds are kept (default ~/.cache/preferred-inputs/caffe)
#   CAFFE_SOURCE_DIR  a folder already holding the source archives: skips the download
#   CAFFE_JOBS        parallel compile jobs (default: number of cores)
#   CUDA_ARCH_BIN     compute capabilities for --cuda (default: Kepler to Hopper)
#   CAFFE_GITHUB_REPO a mirror of BVLC/caffe for --source github
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

# --- Pinned sources ---------------------------------------------------------
# Debian's caffe source package: BVLC master of 2018-08-21 and Debian's patches.
DEBIAN_VERSION=1.0.0+git20180821.99bd997-8
DEBIAN_ORIG=caffe_1.0.0+git20180821.99bd997.orig.tar.gz
DEBIAN_ORIG_SHA256=e0eb3f06794f7402c77b7dec8e8480273ee1a1bb192e9122b621a69d4147ad0c
DEBIAN_PATCHES=caffe_${DEBIAN_VERSION}.debian.tar.xz
DEBIAN_PATCHES_SHA256=07cf073227494a6b07234e40cb5df91db566616593eef9baafdc4d06ad159f21
DEBIAN_POOL=https://deb.debian.org/debian/pool/main/c/caffe
# The same commit on GitHub, for machines that reach it (verified by its git
# tree id, since GitHub's tarballs are not byte-stable); Debian's patches are
# still taken from Debian's pool.
# Its tree is file for file the Debian tarball's.
GITHUB_REPO=${CAFFE_GITHUB_REPO:-https://github.com/BVLC/caffe.git}
GITHUB_COMMIT=99bd99795dcdf0b1d3086a8d67ab1782a8a08383
GITHUB_TREE=660066a34ecbb387946ab4feede1b916ef0bcfa5
RECIPE=1   # bump when this script changes what it builds

cuda=0; source_kind=debian; prefix=$repo/build/caffe; build_tests=1; print_key=0
while [ $# -gt 0 ]; do
  case $1 in
    --cuda) cuda=1 ;;
    --source) source_kind=$2; shift ;;
    --prefix) prefix=$2; shift ;;
    --no-tests) build_tests=0 ;;
    --print-key) print_key=1 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "build_caffe.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case $source_kind in debian|github) ;; *)
  echo "build_caffe.sh: --source must be 'debian' or 'github', not '$source_kind'" >&2; exit 2 ;;
esac

die() { echo "build_caffe.sh: $*" >&2; exit 1; }
say() { echo "==> $*"; }

# Refuse a file whose sha256 is not the pinned one; it is never unpacked.
verify() {  # file expected-sha256
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  [ "$got" = "$2" ] || die "checksum mismatch for $(basename "$1"): expected $2, got $got; refusing to build (delete it and run again to download a fresh copy)"
}

# pycaffe is built against Debian's python3 and its NumPy headers, whatever
# other python3 comes first on the PATH (the virtual environment's newer
# NumPy runs binaries built against older headers).
cmake_flags=(-DCMAKE_BUILD_TYPE=Release -DBLAS=Open -Dpython_version=3 -DPYTHON_EXECUTABLE=/usr/bin/python3
             -DUSE_OPENCV=OFF -DUSE_LEVELDB=OFF -DUSE_LMDB=OFF -DBUILD_docs=OFF)
if [ $cuda = 1 ]; then
  cmake_flags+=(-DCPU_ONLY=OFF -DUSE_CUDNN=OFF -DCUDA_ARCH_NAME=Manual
                "-DCUDA_ARCH_BIN=${CUDA_ARCH_BIN:-35 50 52 60 61 70 75 80 86 89 90}"
                "-DCUDA_ARCH_PTX=")
else
  cmake_flags+=(-DCPU_ONLY=ON)
fi

key=$( { echo "recipe $RECIPE source $source_kind $DEBIAN_ORIG_SHA256 $DEBIAN_PATCHES_SHA256 $GITHUB_COMMIT tests $build_tests";
         printf '%s\n' "${cmake_flags[@]}"; cat "$here"/patches/*.patch; } | sha256sum | cut -c1-16)
[ $print_key = 1 ] && { echo "$key"; exit 0; }
cache=${CAFFE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/preferred-inputs/caffe}
build_root=$cache/$key

install_prefix() {
  say "installing Caffe ($key) into $prefix"
  local tmp=$prefix.tmp.$$
  rm -rf "$tmp"; mkdir -p "$(dirname "$prefix")"
  cp -a "$build_root/install" "$tmp"
  printf 'key=%s\nsource=%s\ncuda=%s\nbuild_root=%s\n' "$key" "$source_kind" "$cuda" "$build_root" > "$tmp/BUILD_INFO"
  rm -rf "$prefix"; mv "$tmp" "$prefix"
}

if [ -f "$build_root/DONE" ]; then
  say "cache hit: $build_root"
  install_prefix
  exit 0
fi

say "building Caffe ($source_kind source, $([ $cuda = 1 ] && echo CUDA || echo CPU)) in $build_root"
rm -rf "$build_root"; mkdir -p "$build_root/downloads"
dl=$build_root/downloads

fetch_debian_source() {
  if [ -n "${CAFFE_SOURCE_DIR:-}" ]; then
    cp "$CAFFE_SOURCE_DIR/$DEBIAN_ORIG" "$CAFFE_SOURCE_DIR/$DEBIAN_PATCHES" "$dl/"
    return
  fi
  # The package is only in bullseye: give apt a private source list and state
  # so that the machine's own lists are untouched.
  local apt=$build_root/apt
  mkdir -p "$apt/lists/partial"
  echo 'deb-src http://deb.debian.org/debian bullseye main' > "$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
              -o "Dir::State::Lists=$apt/lists" -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" update -qq
  (cd "$dl" && apt-get "${opts[@]}" source --download-only -qq "caffe=$DEBIAN_VERSION")
}

unpack_debian_patches() {  # into src/debian
  verify "$dl/$DEBIAN_PATCHES" "$DEBIAN_PATCHES_SHA256"
  tar -xJf "$dl/$DEBIAN_PATCHES" -C "$build_root/src"
}

mkdir -p "$build_root/src"
if [ $source_kind = debian ]; then
  fetch_debian_source
  verify "$dl/$DEBIAN_ORIG" "$DEBIAN_ORIG_SHA256"
  tar -xzf "$dl/$DEBIAN_ORIG" -C "$build_root/src"
else
  git clone -q --bare "$GITHUB_REPO" "$dl/caffe.git"
  tree=$(git -C "$dl/caffe.git" rev-parse --verify -q "$GITHUB_COMMIT^{tree}") \
    || die "commit $GITHUB_COMMIT is not in $GITHUB_REPO; refusing to build"
  [ "$tree" = "$GITHUB_TREE" ] || die "tree mismatch for $GITHUB_COMMIT: expected $GITHUB_TREE, got $tree; refusing to build"
  git -C "$dl/caffe.git" archive "$GITHUB_COMMIT" | tar -x -C "$build_root/src"
  if [ -n "${CAFFE_SOURCE_DIR:-}" ]; then
    cp "$CAFFE_SOURCE_DIR/$DEBIAN_PATCHES" "$dl/"
  else
    curl -fsSL -o "$dl/$DEBIAN_PATCHES" "$DEBIAN_POOL/$DEBIAN_PATCHES"
  fi
fi
unpack_debian_patches

say "applying Debian's patch series and ours"
cd "$build_root/src"
while read -r p; do
  case $p in ''|'#'*) continue ;; esac
  patch -p1 -s --forward < "debian/patches/$p" || die "Debian patch $p does not apply"
done < debian/patches/series
for p in "$here"/patches/*.patch; do
  patch -p1 -s --forward < "$p" || die "patch $(basename "$p") does not apply"
done

jobs=${CAFFE_JOBS:-$(nproc)}
mkdir -p build && cd build
say "configuring: ${cmake_flags[*]}"
cmake .. "${cmake_flags[@]}" -DCMAKE_INSTALL_PREFIX="$build_root/install" > cmake.log 2>&1 \
  || { tail -30 cmake.log; die "cmake failed (full log: $PWD/cmake.log)"; }
say "compiling caffe and pycaffe with $jobs jobs"
make -j"$jobs" caffe pycaffe > make.log 2>&1 || { tail -30 make.log; die "build failed (full log: $PWD/make.log)"; }
if [ $build_tests = 1 ]; then
  say "compiling Caffe's own test suite"
  make -j"$jobs" test.testbin > make-tests.log 2>&1 || { tail -30 make-tests.log; die "test build failed (full log: $PWD/make-tests.log)"; }
fi
make install > install.log 2>&1 || { tail -30 install.log; die "install failed (full log: $PWD/install.log)"; }
rm -rf "$build_root/apt"
touch "$build_root/DONE"
install_prefix
