#!/usr/bin/env bash
# Build the server's container image (deploy/docker/Dockerfile) with podman, no Docker daemon.
#
#   scripts/deploy/image.sh base    # print the base image to build on (made when missing)
#   scripts/deploy/image.sh build   # build the image; print its tag
#   scripts/deploy/image.sh tag     # print the tag this checkout builds
#
# Base image: CONCORD_IMAGE_BASE when set; else the Dockerfile's public default when a registry
# answers; else a Debian bookworm made here with debootstrap from the machine's Debian mirror
# (localhost/concord-base:bookworm, its root filesystem cached in .scratch/cache). Layers stay in
# podman's store, so a rebuild after a source change redoes only the last steps.
# podman runs with scripts/deploy/containers.conf (runc, lowered rlimits) unless CONTAINERS_CONF
# is set. Downloads during the build trust $SSL_CERT_FILE (or the system bundle).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$CONCORD_ROOT"
TAG=image

export CONTAINERS_CONF="${CONTAINERS_CONF:-$CONCORD_ROOT/scripts/deploy/containers.conf}"
PUBLIC_BASE=docker.io/library/python:3.11-slim-bookworm
LOCAL_BASE=localhost/concord-base:bookworm
ROOTFS_CACHE="$CONCORD_ROOT/.scratch/cache/concord-base-bookworm.tar"

# The tag of this checkout's image: one per checkout, so parallel clones never race on it.
image_tag() {
  printf 'localhost/concord-server:test-%s\n' "$(printf '%s' "$CONCORD_ROOT" | sha256sum | cut -c1-10)"
}

# The Debian mirror the machine's apt uses (deb822 or one-line sources), else deb.debian.org.
debian_mirror() {
  local uri
  uri="$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)"
  [[ -n $uri ]] || uri="$(grep -hsE '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1 || true)"
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

# A minimal Debian bookworm root filesystem as an image (needs root and debootstrap).
make_local_base() {
  local t0=$SECONDS dir
  if [[ ! -s $ROOTFS_CACHE ]]; then
    command -v debootstrap >/dev/null 2>&1 || die "$TAG" "debootstrap missing (scripts/setup.sh deploy installs it)"
    dir="$(mktemp -d "${TMPDIR:-/tmp}/concord-rootfs.XXXXXX")"
    log "$TAG" "debootstrap bookworm from $(debian_mirror) (about a minute)"
    as_root nice -n 10 debootstrap --variant=minbase bookworm "$dir" "$(debian_mirror)" >/dev/null ||
      { as_root rm -rf "$dir"; die "$TAG" "debootstrap failed"; }
    # Package caches and documentation: nothing in the image reads them.
    as_root rm -rf "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
      "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/locale/*
    mkdir -p "$(dirname "$ROOTFS_CACHE")"
    as_root tar -C "$dir" -cf "$ROOTFS_CACHE.part" . && mv "$ROOTFS_CACHE.part" "$ROOTFS_CACHE"
    as_root rm -rf "$dir"
  fi
  podman import --quiet "$ROOTFS_CACHE" "$LOCAL_BASE" >/dev/null
  log "$TAG" "base $LOCAL_BASE ready in $((SECONDS - t0))s"
}

base_image() {
  if [[ -n ${CONCORD_IMAGE_BASE:-} ]]; then
    printf '%s\n' "$CONCORD_IMAGE_BASE"
  elif podman image exists "$PUBLIC_BASE" || timeout 120 podman pull --quiet "$PUBLIC_BASE" >/dev/null 2>&1; then
    printf '%s\n' "$PUBLIC_BASE"
  else
    podman image exists "$LOCAL_BASE" || make_local_base >&2
    printf '%s\n' "$LOCAL_BASE"
  fi
}

ca_bundle() {
  local f
  for f in "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
    if [[ -n $f && -s $f ]]; then
      printf '%s\n' "$f"
      return
    fi
  done
}

build() {
  command -v podman >/dev/null 2>&1 || die "$TAG" "podman missing (scripts/setup.sh deploy installs it)"
  local t0=$SECONDS base tag old new ca args=()
  base="$(base_image)"
  tag="$(image_tag)"
  old="$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
  ca="$(ca_bundle)"
  if [[ -n $ca ]]; then
    args+=(-v "$ca:/run/host-ca.crt:ro" --build-arg CA_BUNDLE=/run/host-ca.crt)
  fi
  log "$TAG" "podman build $tag on $base"
  nice -n 10 podman build --quiet --format docker --layers --network host \
    -f deploy/docker/Dockerfile --build-arg BASE_IMAGE="$base" \
    --build-arg VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' server/pyproject.toml)" \
    --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
    "${args[@]}" -t "$tag" . >/dev/null || die "$TAG" "podman build failed"
  new="$(podman image inspect --format '{{.Id}}' "$tag")"
  if [[ -n $old && $old != "$new" ]]; then # this checkout's previous build, now untagged
    podman rmi "$old" >/dev/null 2>&1 || true
  fi
  log "$TAG" "built $tag ($(podman image inspect --format '{{.Size}}' "$tag" | awk '{printf "%d MB", $1/1e6}')) in $((SECONDS - t0))s"
  printf '%s\n' "$tag"
}

case "${1:-}" in
  base) base_image ;;
  build) build ;;
  tag) image_tag ;;
  *) sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
