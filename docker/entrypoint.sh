#!/usr/bin/env bash
# The images' entrypoint.  With no command, `--help`, `-h` or `help` it prints
# the usage below and exits 0; otherwise it runs the command as given.
#
# Started as root (the default), it runs the command as the owner of the
# output folder (/work/output, else /work), so that the files it writes
# belong to whoever owns that folder on the host; /models is given to that
# user first where that user cannot write all of it (filled by another uid).
# Started with `--user UID:GID`, it runs as that user, and stops with one
# line where /models is not writable.
set -euo pipefail

usage() {
  cat <<'EOF'
preferred-inputs: the preferred-input methods (DGN-AM, PPGN, cnnpref, cnn-vis) on Caffe.

  docker run --rm -v preferred-inputs-models:/models -v "$PWD/output:/work/output" IMAGE COMMAND [ARG...]

Examples (each script answers --help):
  IMAGE 1_activate_output.sh                  DGN-AM example 1: output/example1.jpg
  IMAGE 1_class_conditional_sampling.sh 945   PPGN, class 945
  IMAGE act_max.py --help                     DGN-AM's program
  IMAGE sampling_class.py --help              PPGN's samplers (sampling_caption.py too)
  IMAGE cnn_vis.py --help                     cnn-vis; the cnnpref examples are under
                                              /opt/preferred-inputs/examples/cnnpref
  IMAGE download.sh caffenet upconv           fetch models ahead of time (--list: what is there)
  docker run --rm -it ... IMAGE bash          a shell

Volumes:
  /models       models and data files (NETS_DIR), fetched on first use; a named
                volume keeps them for later containers
  /work/output  where the scripts write; the command runs as this folder's owner
                (mkdir -p output first, else Docker creates it owned by root)

GPU (the CUDA image, with the NVIDIA Container Toolkit on the host):
  docker run --rm --gpus all -e GPU=1 -v preferred-inputs-models:/models \
      -v "$PWD/output:/work/output" preferred-inputs:cuda 1_activate_output.sh

Settings are environment variables (-e N_ITERS=20 -e UNITS="1 2 3"); see docs/docker.md.
EOF
}

case ${1:-help} in
  help|-h|--help) usage; exit 0 ;;
esac
command -v "$1" > /dev/null || {
  echo "preferred-inputs: no command '$1' in this image; run the image with no command for the list of examples" >&2
  exit 2
}

# The first folder under /models (itself included) that the user cannot
# write: a download would fail there.  Arguments: the command to run it as.
unwritable() { "$@" find /models -type d ! -writable -print -quit 2> /dev/null; }

if [ "$(id -u)" = 0 ]; then
  owner=$(stat -c %u:%g /work/output 2> /dev/null || stat -c %u:%g /work)
  uid=${owner%:*}
  if [ "$uid" != 0 ]; then
    drop=(setpriv --reuid="$uid" --regid="${owner#*:}" --clear-groups)
    [ -z "$(unwritable "${drop[@]}")" ] || chown -R "$owner" /models
    exec "${drop[@]}" "$0" "$@"
  fi
else
  bad=$(unwritable)
  if [ -n "$bad" ]; then
    echo "preferred-inputs: $bad (owned by $(stat -c %u:%g "$bad")) is not writable by uid $(id -u); run without --user (the image then runs as the output folder's owner) or mount a folder that uid may write: -v DIR:/models" >&2
    exit 2
  fi
fi

# HOME for a uid the image does not know (--user, or a host folder's owner).
mkdir -p "$HOME"
exec "$@"
