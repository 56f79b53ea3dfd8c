#!/usr/bin/env bash
# Build the harness's Docker image, CPU (default) or CUDA, and say how long it
# took and how big it is.  Without --base the base is a local Debian bookworm
# made with debootstrap (docker/base.sh), for machines that cannot pull
# images; the build itself reaches Debian's archive and PyPI (--network host).
#
#   docker/build.sh [--cuda] [--base IMAGE] [--tag TAG] [DOCKER-BUILD-OPTION...]
#
# Default tags: preferred-inputs:cpu, preferred-inputs:cuda; the build stage
# is tagged TAG-builder (preferred-inputs:cpu-builder).
# Environment: CAFFE_JOBS (parallel compile jobs, default: all cores; a
# changed value rebuilds Caffe).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

dockerfile=docker/Dockerfile; tag=preferred-inputs:cpu; base=
while [ $# -gt 0 ]; do
  case $1 in
    --cuda) dockerfile=docker/Dockerfile.cuda; tag=preferred-inputs:cuda ;;
    --base) base=$2; shift ;;
    --tag) tag=$2; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) break ;;
  esac
  shift
done

if [ -z "$base" ]; then
  base=preferred-inputs-base:bookworm
  bash "$repo/docker/base.sh" "$base"
fi

# CAs added on this host (Debian's place for them), for a build behind a
# TLS-inspecting proxy: pip in the build stage trusts what the host trusts.
extra_ca=$(find /usr/local/share/ca-certificates -name '*.crt' -type f -exec cat {} + 2>/dev/null || true)

echo "==> building $tag from $dockerfile on $base"
start=$(date +%s)
build() {
  docker build --network host -f "$repo/$dockerfile" \
    --build-arg "BASE=$base" --build-arg "CAFFE_JOBS=${CAFFE_JOBS:-$(nproc)}" \
    --build-arg "EXTRA_CA_CERTS=$extra_ca" "$@" "$repo"
}
# The build stage gets a tag of its own: no untagged image is left behind,
# and its layers stay as the next build's cache.  What the two tags named
# before goes once a changed input replaces it (kept where still in use).
old=$(docker image inspect -f '{{.Id}}' "$tag" "$tag-builder" 2> /dev/null || true)
build --target builder -t "$tag-builder" "$@"
build -t "$tag" "$@"
for id in $old; do
  [ "$(docker image inspect -f '{{len .RepoTags}}' "$id" 2> /dev/null)" != 0 ] || docker image rm "$id" > /dev/null 2>&1 || true
done
seconds=$(( $(date +%s) - start ))
size=$(docker image inspect -f '{{.Size}}' "$tag")
printf '==> %s built in %dm%02ds, %d MB\n' "$tag" $((seconds / 60)) $((seconds % 60)) $((size / 1000000))
