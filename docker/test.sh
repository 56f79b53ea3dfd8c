#!/usr/bin/env bash
# Check the CPU image end to end: build it (docker/build.sh; a rebuild with
# nothing changed takes seconds), run the test suite inside it, then run
# example 1 on the tiny nets with the output folder mounted from here and
# check the collage arrives.  Neither run has a network.
#
#   docker/test.sh [--no-build] [IMAGE]      (default: preferred-inputs:cpu)
#
# Environment: SHARED_DIR (default: ../shared beside the repository), the
# folder with the tiny nets and goldens, mounted read-only.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "${SHARED_DIR:-$repo/../shared}" && pwd)
build=1
[ "${1:-}" = --no-build ] && { build=0; shift; }
image=${1:-preferred-inputs:cpu}
tiny=$shared/fixtures/tiny

fail() { echo "test.sh: FAILED: $*" >&2; exit 1; }

[ $build = 1 ] && bash "$repo/docker/build.sh" --tag "$image"

uid=$(docker run --rm "$image" id -u)
[ "$uid" != 0 ] || fail "the image runs as root"

# The repository sits at /opt/preferred-inputs, so ../shared is /opt/shared.
echo "==> test suite inside $image"
docker run --rm --network none -v "$shared:/opt/shared:ro" -w /opt/preferred-inputs \
  -e PYTEST_ADDOPTS="-p no:cacheprovider" "$image" make test \
  || fail "the test suite failed inside $image"

echo "==> example 1 on the tiny nets inside $image"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/output"
chown "$uid" "$scratch/output"  # the image's user writes there
for unit in $(seq 0 9); do echo "n0000000$unit class$unit"; done > "$scratch/synsets.txt"  # its 10 outputs
docker run --rm --network none -v "$tiny:/tiny:ro" -v "$scratch/synsets.txt:/tiny-synsets.txt:ro" \
  -v "$scratch/output:/work/output" -e PREFINPUT_OFFLINE=1 -e N_ITERS=3 -e UNITS="1 2 3 4 5" \
  -e NET_DEFINITION=/tiny/classifier.prototxt -e NET_WEIGHTS=/tiny/classifier.caffemodel \
  -e GENERATOR_DEFINITION=/tiny/generator.prototxt -e GENERATOR_WEIGHTS=/tiny/generator.caffemodel \
  -e BOUND_FILE=/tiny/fc6_bound.txt -e SYNSET_FILE=/tiny-synsets.txt \
  "$image" 1_activate_output.sh || fail "1_activate_output.sh failed inside $image"

collage=$scratch/output/example1.jpg
[ -s "$collage" ] || fail "no collage at $collage on the host"
[ "$(head -c 3 "$collage" | od -An -tx1 | tr -d ' ')" = ffd8ff ] || fail "$collage is not a JPEG"
[ "$(stat -c %u "$collage")" = "$uid" ] || fail "$collage is not owned by the image's user ($uid)"
echo "==> collage on the host: $(stat -c %s "$collage") bytes, $(ls "$scratch/output" | wc -l) files in the output folder"
echo "==> docker/test.sh: all passed"
