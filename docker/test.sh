#!/usr/bin/env bash
# Check the CPU image end to end: build it (docker/build.sh; a rebuild with
# nothing changed takes seconds), then, with no network in the containers:
# the usage, the test suite inside the image, a fresh named volume for a uid
# the image does not know, the one-line error for missing models, and
# example 1 on the tiny nets into a root-owned output folder, into one owned
# by uid 1234 (started as root), and with --user 1234:1234; each collage
# must arrive on the host owned by the output folder's owner; and `docker
# stop` of a PPGN chain stops it within seconds, keeping its samples.
#
#   docker/test.sh [--no-build] [IMAGE]      (default: preferred-inputs:cpu)
#
# Environment: SHARED_DIR (default: ../shared beside the repository), the
# folder with the tiny nets and goldens, mounted read-only.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED_DIR:-$repo/../shared}
build=1
[ "${1:-}" = --no-build ] && { build=0; shift; }
image=${1:-preferred-inputs:cpu}
tiny=$shared/fixtures/tiny
[ -d "$tiny" ] || { echo "test.sh: no tiny nets at $tiny: it needs the project's shared folder beside the repository (../shared), or SHARED_DIR=DIR pointing at a copy" >&2; exit 2; }
shared=$(cd "$shared" && pwd)

fail() { echo "test.sh: FAILED: $*" >&2; exit 1; }

[ $build = 1 ] && bash "$repo/docker/build.sh" --tag "$image"

scratch=$(mktemp -d)
volume=preferred-inputs-test-$$
container=preferred-inputs-test-stop-$$
trap 'docker rm -f "$container" > /dev/null 2>&1; docker volume rm -f "$volume" > /dev/null; rm -rf "$scratch"' EXIT

echo "==> usage: no command, --help, -h, help"
for args in "" --help -h help; do
  # shellcheck disable=SC2086  # "" is no argument at all
  docker run --rm --network none "$image" $args > "$scratch/usage" || fail "'$image $args' exited non-zero"
  grep -q -- '-v preferred-inputs-models:/models' "$scratch/usage" && grep -q -- '--gpus all' "$scratch/usage" \
    || fail "'$image $args' does not print the usage with the volume and GPU lines"
done
status=0; docker run --rm --network none "$image" no-such-command 2> "$scratch/err" || status=$?
[ $status = 2 ] && [ "$(wc -l < "$scratch/err")" = 1 ] || fail "an unknown command: exit $status, not one line and exit 2"

# The repository sits at /opt/preferred-inputs, so ../shared is /opt/shared.
# The suite runs as root (a root-owned output folder), who may write in the
# repository, as `make test` does on the host, and with the host's hints.
echo "==> test suite inside $image"
mkdir "$scratch/suite"
docker run --rm --network none -v "$shared:/opt/shared:ro" -v "$scratch/suite:/work/output" \
  -w /opt/preferred-inputs -e PREFINPUT_FETCH_COMMAND= -e PYTEST_ADDOPTS="-p no:cacheprovider" "$image" make test \
  || fail "the test suite failed inside $image"

echo "==> a fresh named volume at /models, output folder of uid 1234"
mkdir "$scratch/out1234"
chown 1234:1234 "$scratch/out1234"
docker volume create "$volume" > /dev/null
got=$(docker run --rm --network none -v "$volume:/models" -v "$scratch/out1234:/work/output" "$image" \
  bash -c 'touch /models/written && id -u && stat -c %u /models/written && mkdir -p "$XDG_CACHE_HOME" && echo ok') \
  || fail "uid 1234 cannot write the fresh volume or its cache folder"
[ "$(echo "$got" | tr '\n' ' ')" = "1234 1234 ok " ] || fail "expected to run as 1234 and write /models as 1234, got: $got"

echo "==> models missing, no network: one line, exit 2"
status=0
docker run --rm --network none -v "$volume:/models" "$image" 1_activate_output.sh > /dev/null 2> "$scratch/err" || status=$?
[ $status = 2 ] && [ "$(wc -l < "$scratch/err")" = 1 ] \
  || { cat "$scratch/err"; fail "missing models: exit $status, not one line and exit 2"; }
grep -q 'download.sh' "$scratch/err" && ! grep -q 'nets/download.sh' "$scratch/err" \
  || fail "the hint does not name download.sh as it is called in the image: $(cat "$scratch/err")"
echo "    $(cat "$scratch/err")"

for unit in $(seq 0 9); do echo "n0000000$unit class$unit"; done > "$scratch/synsets.txt"  # the tiny net's 10 outputs
example1() {  # OUTPUT-FOLDER [DOCKER-RUN-OPTION...]
  local out=$1; shift
  docker run --rm --network none "$@" -v "$tiny:/tiny:ro" -v "$scratch/synsets.txt:/tiny-synsets.txt:ro" \
    -v "$out:/work/output" -e PREFINPUT_OFFLINE=1 -e N_ITERS=3 -e UNITS="1 2 3 4 5" \
    -e NET_DEFINITION=/tiny/classifier.prototxt -e NET_WEIGHTS=/tiny/classifier.caffemodel \
    -e GENERATOR_DEFINITION=/tiny/generator.prototxt -e GENERATOR_WEIGHTS=/tiny/generator.caffemodel \
    -e BOUND_FILE=/tiny/fc6_bound.txt -e SYNSET_FILE=/tiny-synsets.txt \
    "$image" 1_activate_output.sh > "$scratch/run.log" 2>&1 \
    || { tail -20 "$scratch/run.log"; fail "1_activate_output.sh failed inside $image ($*)"; }
  local collage=$out/example1.jpg
  [ -s "$collage" ] || fail "no collage at $collage on the host"
  [ "$(head -c 3 "$collage" | od -An -tx1 | tr -d ' ')" = ffd8ff ] || fail "$collage is not a JPEG"
  [ "$(stat -c %u:%g "$collage")" = "$(stat -c %u:%g "$out")" ] \
    || fail "$collage belongs to $(stat -c %u:%g "$collage"), not to the output folder's owner $(stat -c %u:%g "$out")"
  echo "    collage on the host: $(stat -c %s "$collage") bytes, owner $(stat -c %u:%g "$collage"), $(ls "$out" | wc -l) files in the output folder"
}

echo "==> example 1 on the tiny nets, root-owned output folder (as Docker creates it)"
mkdir "$scratch/outroot"
example1 "$scratch/outroot"
echo "==> example 1, output folder of uid 1234, started as root, the fresh volume at /models"
example1 "$scratch/out1234" -v "$volume:/models"
echo "==> example 1, --user 1234:1234"
mkdir "$scratch/outuser"
chown 1234:1234 "$scratch/outuser"
example1 "$scratch/outuser" --user 1234:1234
# The script exec's Python, so Python is PID 1 and has a handler for
# SIGTERM: without one, PID 1 ignores it and Docker kills after 10 s (137).
echo "==> docker stop of PPGN example 1 on the tiny nets: stops within seconds, keeps the samples"
mkdir "$scratch/outstop"
misc=$shared/reference/ppgn/misc
docker run -d --name "$container" --network none -v "$tiny:/tiny:ro" -v "$misc:/misc:ro" \
  -v "$scratch/outstop:/work/output" -e PREFINPUT_OFFLINE=1 -e N_ITERS=1000000 \
  -e NET_DEFINITION=/tiny/classifier.prototxt -e NET_WEIGHTS=/tiny/classifier.caffemodel \
  -e ENCODER_DEFINITION=/tiny/classifier.prototxt -e ENCODER_WEIGHTS=/tiny/classifier.caffemodel \
  -e PPGN_GENERATOR_DEFINITION=/tiny/generator.prototxt -e PPGN_GENERATOR_WEIGHTS=/tiny/generator.caffemodel \
  -e SYNSET_FILE=/misc/synset_words.txt -e MEAN_FILE_MAT=/misc/ilsvrc_2012_mean.mat \
  "$image" 1_class_conditional_sampling.sh 1 > /dev/null
chain=$scratch/outstop/fc8_chain_1_eps1_1e-5_eps3_1e-17
for _ in $(seq 600); do
  [ "$(find "$chain" -path '*/samples.new-*/*.jpg' 2> /dev/null | wc -l)" -ge 3 ] && break
  [ "$(docker inspect -f '{{.State.Running}}' "$container")" = true ] \
    || { docker logs --tail 20 "$container"; fail "PPGN example 1 ended before making 3 samples"; }
  sleep 0.2
done
echo "    PID 1 in the container: $(docker exec "$container" bash -c "tr '\\0' ' ' < /proc/1/cmdline" | cut -c1-100)"
start=$(date +%s%N)
docker stop -t 10 "$container" > /dev/null
milliseconds=$(( ($(date +%s%N) - start) / 1000000 ))
status=$(docker inspect -f '{{.State.ExitCode}}' "$container")
[ "$status" = 143 ] || { docker logs --tail 20 "$container"; fail "docker stop: exit $status, not 143 (137: SIGTERM went unheard, killed after 10 s)"; }
kept=$(find "$chain/samples.partial" -name '*.jpg' 2> /dev/null | wc -l)
[ "$kept" -ge 3 ] || fail "docker stop kept $kept samples in $chain/samples.partial, not the 3 or more made"
[ -z "$(find "$chain" -maxdepth 1 -name 'samples.new-*')" ] || fail "docker stop left $chain/samples.new-*"
echo "    stopped in $((milliseconds / 1000)).$(printf %03d $((milliseconds % 1000))) s, exit 143, $kept samples kept in samples.partial/"
echo "==> docker/test.sh: all passed"
