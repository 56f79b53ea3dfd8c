#!/usr/bin/env bash
# Make a local Debian bookworm base image with debootstrap, for machines that
# reach Debian's archive but cannot pull from a registry.  It stands in for
# debian:bookworm-slim: the same apt sources and the same "no docs" dpkg
# settings.  Run as root, with a Docker engine running.
#
#   docker/base.sh [IMAGE]        (default: preferred-inputs-base:bookworm)
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian)
set -euo pipefail
image=${1:-preferred-inputs-base:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$image" > /dev/null 2>&1; then
  echo "==> base image $image already there"
  exit 0
fi
command -v debootstrap > /dev/null || { echo "base.sh: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
echo "==> debootstrap bookworm into $root"
debootstrap --variant=minbase bookworm "$root" "$mirror" > "$root.log" 2>&1 \
  || { tail -20 "$root.log"; echo "base.sh: debootstrap failed (log: $root.log)" >&2; exit 1; }
rm -f "$root.log"

# What the official slim image has: updates and security suites, no docs.
rm -f "$root/etc/apt/sources.list"
cat > "$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cat > "$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
echo 'APT::Install-Recommends "false";' > "$root/etc/apt/apt.conf.d/docker-no-recommends"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin

echo "==> importing as $image"
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' - "$image" > /dev/null
docker image ls "$image"
