#!/usr/bin/env bash
# Build Caffe and pycaffe from verified source, with our patch series, into a
# relocatable prefix.  Used by `make setup` on the host and by the Dockerfiles.
#
#   docker/build_caffe.sh [--cuda] [--blas NAME] [--source debian|github] [--prefix DIR] [--no-tests] [--print-key]
#
# --blas NAME, the BLAS Caffe links (docs/performance.md, "Choosing the BLAS"):
#   openblas        Debian's OpenBLAS 0.3.21, pthreads (the default: the goldens' environment)
#   scipy-openblas  OpenBLAS 0.3.34 from PyPI's scipy-openblas32 wheel (pinned in docker/blas/),
#                   copied into the prefix (27 MB)
#   blis            Debian's BLIS 0.9.0, pthreads (first: docker/install_deps.sh --blas blis)
#   mkl             Intel oneMKL 2026.2 from PyPI's mkl wheels (pinned in docker/blas/),
#                   copied into the prefix (590 MB)
# Install a BLAS other than openblas beside the default build, e.g. --prefix build/caffe-mkl.
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

BLASES="openblas scipy-openblas blis mkl"

cuda=0; blas=openblas; source_kind=debian; prefix=$repo/build/caffe; build_tests=1; print_key=0
while [ $# -gt 0 ]; do
  case $1 in
    --cuda) cuda=1 ;;
    --blas) [ $# -gt 1 ] || { echo "build_caffe.sh: --blas needs a name: ${BLASES// /, }" >&2; exit 2; }
            blas=$2; shift ;;
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

prefix=$(realpath -m "$prefix")  # the build changes folders before it installs
case " $BLASES " in *" $blas "*) ;; *)
  echo "build_caffe.sh: --blas must be one of ${BLASES// /, }, not '$blas'" >&2; exit 2 ;;
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
cmake_flags=(-DCMAKE_BUILD_TYPE=Release -DBLAS=$([ $blas = mkl ] && echo MKL || echo Open) -Dpython_version=3 -DPYTHON_EXECUTABLE=/usr/bin/python3
             -DUSE_OPENCV=OFF -DUSE_LEVELDB=OFF -DUSE_LMDB=OFF -DBUILD_docs=OFF)
if [ $cuda = 1 ]; then
  cmake_flags+=(-DCPU_ONLY=OFF -DUSE_CUDNN=OFF -DCUDA_ARCH_NAME=Manual
                "-DCUDA_ARCH_BIN=${CUDA_ARCH_BIN:-35 50 52 60 61 70 75 80 86 89 90}"
                "-DCUDA_ARCH_PTX=")
else
  cmake_flags+=(-DCPU_ONLY=ON)
fi

# The default BLAS adds nothing to the key (its builds keep their keys); another
# adds its name and its pinned wheels.
blas_lock=$here/blas/$blas.txt
blas_key() {
  [ $blas = openblas ] && return
  echo "blas $blas"
  if [ -f "$blas_lock" ]; then cat "$blas_lock"; fi
}
key=$( { echo "recipe $RECIPE source $source_kind $DEBIAN_ORIG_SHA256 $DEBIAN_PATCHES_SHA256 $GITHUB_COMMIT tests $build_tests";
         printf '%s\n' "${cmake_flags[@]}"; cat "$here"/patches/*.patch; blas_key; } | sha256sum | cut -c1-16)
[ $print_key = 1 ] && { echo "$key"; exit 0; }
cache=${CAFFE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/preferred-inputs/caffe}
build_root=$cache/$key

install_prefix() {
  say "installing Caffe ($key) into $prefix"
  local tmp=$prefix.tmp.$$
  rm -rf "$tmp"; mkdir -p "$(dirname "$prefix")"
  cp -a "$build_root/install" "$tmp"
  printf 'key=%s\nsource=%s\ncuda=%s\nblas=%s\nblas_version=%s\npatches=%s\nbuild_root=%s\n' \
    "$key" "$source_kind" "$cuda" "$blas" "$(blas_version)" "$(cat "$here"/patches/*.patch | sha256sum | cut -c1-16)" \
    "$build_root" > "$tmp/BUILD_INFO"
  rm -rf "$prefix"; mv "$tmp" "$prefix"
}

# The version of the BLAS the prefix runs with: a Debian package's is the one
# installed now (libcaffe links it dynamically); a wheel's is its pin.
blas_version() {
  case $blas in
    openblas) dpkg-query -W -f='${Version}' libopenblas-dev 2>/dev/null || echo unknown ;;
    blis) dpkg-query -W -f='${Version}' libblis4-pthread 2>/dev/null || echo unknown ;;
    *) sed -n 's/^\([a-z0-9-]*\)==\([^ ]*\) .*/\1-\2/p' "$blas_lock" | head -1 ;;
  esac
}

# --- The BLAS -------------------------------------------------------------------
# Debian's BLIS, pthreads variant (docker/install_deps.sh --blas blis); Caffe's
# CMake takes any CBLAS as "OpenBLAS" given its header and library.
BLIS_INCLUDE=/usr/include/x86_64-linux-gnu/blis-pthread
BLIS_LIB=/usr/lib/x86_64-linux-gnu/blis-pthread/libblis.so
# Flags naming where the BLAS is (after the key: they hold the build's path).
blas_flags=()
# A wheel's libraries go into the install's lib/, beside libcaffe (its RUNPATH
# $ORIGIN/../lib finds them wherever the prefix is copied).
fetch_wheels() {  # into $dl, checked against the sha256s in the lock
  local pip=(/usr/bin/python3 -m pip) where=()
  if ! "${pip[@]}" --version > /dev/null 2>&1; then  # Debian's python3-pip is not a dependency: a venv has pip
    /usr/bin/python3 -m venv "$build_root/pip" || die "cannot make a virtual environment for pip (apt-get install python3-venv)"
    pip=("$build_root/pip/bin/pip")
  fi
  [ -n "${CAFFE_SOURCE_DIR:-}" ] && where=(--no-index --find-links "$CAFFE_SOURCE_DIR")
  "${pip[@]}" download -q --disable-pip-version-check --no-deps --only-binary :all: --require-hashes \
    "${where[@]}" -r "$blas_lock" -d "$dl" > "$build_root/pip.log" 2>&1 \
    || { tail -5 "$build_root/pip.log"; die "the wheels in $(basename "$blas_lock") could not be fetched or do not match their sha256 (log: $build_root/pip.log); refusing to build"; }
  rm -rf "$build_root/pip"
  mkdir -p "$build_root/blas"
  local wheel
  for wheel in "$dl"/*.whl; do /usr/bin/python3 -m zipfile -e "$wheel" "$build_root/blas/" && rm "$wheel"; done
}
stage_blas() {
  local lib=$build_root/install/lib blas_dir=$build_root/blas
  case $blas in
    openblas) ;;
    blis) blas_flags=(-DOpenBLAS_INCLUDE_DIR="$BLIS_INCLUDE" -DOpenBLAS_LIB="$BLIS_LIB") ;;
    scipy-openblas)
      fetch_wheels
      mkdir -p "$lib" "$blas_dir/shim"
      cp "$blas_dir"/scipy_openblas32/lib/*.so* "$lib/"  # with the libgfortran it finds beside itself ($ORIGIN)
      # The wheel exports cblas_sgemm & co. as scipy_cblas_sgemm & co. (so that it
      # cannot clash with another OpenBLAS in the process): map Caffe's names to
      # them, for every function the wheel's own header declares.
      { echo "/* Caffe's cblas_* calls, mapped to scipy-openblas32's prefixed symbols (made by build_caffe.sh). */"
        grep -oE '\bscipy_(cblas|openblas)_[A-Za-z0-9_]+' "$blas_dir/scipy_openblas32/include/cblas.h" | sort -u \
          | sed 's/^scipy_\(.*\)$/#define \1 scipy_\1/'
        echo "#include \"$blas_dir/scipy_openblas32/include/cblas.h\""; } > "$blas_dir/shim/cblas.h"
      grep -q '^#define cblas_sgemm scipy_cblas_sgemm$' "$blas_dir/shim/cblas.h" \
        || die "scipy-openblas32's cblas.h does not declare scipy_cblas_sgemm; refusing to build"
      blas_flags=(-DOpenBLAS_INCLUDE_DIR="$blas_dir/shim" -DOpenBLAS_LIB="$lib/libscipy_openblas.so") ;;
    mkl)
      fetch_wheels
      mkdir -p "$lib"
      # libmkl_rt loads the rest from its own folder at run time: the LP64
      # interface, the three threading layers (Intel's OpenMP by default) and
      # the kernels of every CPU type; not the ILP64, ScaLAPACK, cluster or TBB parts.
      local data=("$blas_dir"/mkl-*.data/data/lib) name
      for name in rt core intel_lp64 intel_thread gnu_thread sequential def mc3 avx2 avx512 avx10 \
                  vml_def vml_mc3 vml_avx2 vml_avx512 vml_avx10 vml_cmpt; do
        cp "$data/libmkl_$name.so."* "$lib/" || die "libmkl_$name is not in the mkl wheel"
      done
      cp "$blas_dir"/intel_openmp-*.data/data/lib/libiomp5.so "$lib/"
      local rt=("$lib"/libmkl_rt.so.*)
      blas_flags=(-DMKL_INCLUDE_DIR="$(echo "$blas_dir"/mkl_include-*.data/data/include)" -DMKL_RT_LIBRARY="${rt[0]}") ;;
  esac
}

# libcaffe must load the chosen BLAS, and no other (ldd resolves it as pycaffe will).
check_blas_link() {
  local want found
  case $blas in
    openblas) want=libopenblas.so.0 ;; blis) want=libblis.so.4 ;;
    scipy-openblas) want=libscipy_openblas.so ;; mkl) want=$(basename "$build_root"/install/lib/libmkl_rt.so.*) ;;
  esac
  found=$(ldd "$build_root/install/lib/libcaffe.so" | grep -oE '\blib(openblas|blis|mkl_rt|scipy_openblas)[^ ]* => [^ ]+' | tr '\n' ' ')
  case $found in "$want => "*" ") [ "$(wc -w <<< "$found")" = 3 ] && return ;; esac
  die "libcaffe.so should load $want and no other BLAS, but loads: ${found:-none}"
}

if [ -f "$build_root/DONE" ]; then
  say "cache hit: $build_root"
  install_prefix
  exit 0
fi

if [ $blas = blis ] && { ! [ -f "$BLIS_INCLUDE/cblas.h" ] || ! [ -e "$BLIS_LIB" ]; }; then
  die "BLIS (libblis-pthread-dev) is not installed: run docker/install_deps.sh --blas blis as root first"
fi
say "building Caffe ($source_kind source, $([ $cuda = 1 ] && echo CUDA || echo CPU)) in $build_root"
rm -rf "$build_root"; mkdir -p "$build_root/downloads"
dl=$build_root/downloads
stage_blas

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
say "configuring: ${cmake_flags[*]} ${blas_flags[*]}"
cmake .. "${cmake_flags[@]}" "${blas_flags[@]}" -DCMAKE_INSTALL_PREFIX="$build_root/install" > cmake.log 2>&1 \
  || { tail -30 cmake.log; die "cmake failed (full log: $PWD/cmake.log)"; }
say "compiling caffe and pycaffe with $jobs jobs"
make -j"$jobs" caffe pycaffe > make.log 2>&1 || { tail -30 make.log; die "build failed (full log: $PWD/make.log)"; }
if [ $build_tests = 1 ]; then
  say "compiling Caffe's own test suite"
  make -j"$jobs" test.testbin > make-tests.log 2>&1 || { tail -30 make-tests.log; die "test build failed (full log: $PWD/make-tests.log)"; }
fi
make install > install.log 2>&1 || { tail -30 install.log; die "install failed (full log: $PWD/install.log)"; }
check_blas_link
rm -rf "$build_root/apt" "$build_root/blas" "$build_root/pip.log"
touch "$build_root/DONE"
install_prefix
