#!/usr/bin/env bash
# Steps that docker/Dockerfile and docker/Dockerfile.cuda share.
#
#   image.sh runtime-packages     (build stage, in the repository) print the
#                                 Debian packages of the libraries that
#                                 libcaffe and pycaffe link
#   image.sh venv                 (build stage, in the repository) the
#                                 virtual environment; EXTRA_CA_CERTS (PEM
#                                 text) are trusted while pip runs
#   image.sh runtime UID < LIST   (final stage, as root) install those and
#                                 what the harness needs at run time; add the
#                                 user UID (none for 0) and its folders
set -euo pipefail

runtime_packages() {
  # dpkg knows some libraries by /lib paths, others by /usr/lib ones.
  ldd build/caffe/lib/libcaffe.so build/caffe/lib/python3/dist-packages/caffe/_caffe.so \
    | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u | xargs realpath \
    | while read -r lib; do dpkg -S "$lib" 2>/dev/null || dpkg -S "${lib#/usr}" 2>/dev/null || true; done \
    | cut -d: -f1 | sort -u
}

# Behind a TLS-inspecting proxy pip must trust the CAs the host trusts
# (docker/build.sh passes them); they stay in the build stage.
venv() {
  if [ -n "${EXTRA_CA_CERTS:-}" ]; then
    printf '%s\n' "$EXTRA_CA_CERTS" > /usr/local/share/ca-certificates/build-extra.crt
    update-ca-certificates > /dev/null
  fi
  PIP_CERT=/etc/ssl/certs/ca-certificates.crt bash docker/make_venv.sh
  rm -rf /root/.cache/pip
}

runtime() {
  local uid=$1
  # Python (libcaffe links Debian's libpython), Wand's ImageMagick and label
  # font, certificates for the model downloads; make, git and python3-venv
  # for `make test` (build_caffe.sh --source github, and --blas with its
  # pinned wheels, are among what it checks).
  local packages=(python3 libpython3.11 libmagickwand-6.q16-6 imagemagick fonts-dejavu-core ca-certificates
                  make git python3-venv)
  mapfile -t linked
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${linked[@]}" "${packages[@]}"
  rm -rf /var/lib/apt/lists/*
  mkdir -p /models /work/output
  # A fresh named volume copies /models' mode: any uid may fetch into it.
  chmod 1777 /models
  if [ "$uid" != 0 ]; then  # uid 0 is root, who is there already
    useradd --create-home --uid "$uid" --shell /bin/bash prefinput
    chown prefinput: /work /work/output
  fi
}

case ${1:-} in
  runtime-packages) runtime_packages ;;
  venv) venv ;;
  runtime) runtime "$2" ;;
  *) echo "image.sh: runtime-packages | venv | runtime UID < LIST" >&2; exit 2 ;;
esac
