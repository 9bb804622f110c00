#!/usr/bin/env bash
# Build the hotline image without a Docker engine, with Debian's buildah (`make image`).
#
#   deploy/image.sh base     a Python 3.11 base image from Debian packages (debootstrap):
#                            registry base images are not reachable from every workstation
#   deploy/image.sh build    the image itself (builds the base first when missing)
#   deploy/image.sh buildah ARGS...   buildah on the same storage (inspect, from, run, rm)
#
# Needs root and `apt-get install buildah debootstrap`. Everything lives under
# $HOTLINE_IMAGE_CACHE (default .cache/image, git-ignored): buildah's storage (vfs driver,
# no overlay mounts needed) and the base's root filesystem. PIP_CERT (a CA bundle), when
# set, is lent to the build stage's pip.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${HOTLINE_IMAGE_CACHE:-$ROOT/.cache/image}
BASE_IMAGE=${HOTLINE_BASE_IMAGE:-localhost/hotline-base:bookworm}
IMAGE=${HOTLINE_IMAGE:-localhost/hotline:dev}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

b() { buildah --root "$CACHE/storage" --runroot "$CACHE/run" --storage-driver vfs "$@"; }

base() {
    if b inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
        echo "image: base $BASE_IMAGE present"
        return
    fi
    command -v debootstrap >/dev/null || { echo "image: apt-get install debootstrap" >&2; exit 1; }
    local rootfs=$CACHE/rootfs
    if [[ ! -f $CACHE/base/rootfs.tar ]]; then
        echo "image: debootstrap bookworm (python3, python3-venv) from $MIRROR"
        rm -rf "$rootfs" "$CACHE/base"
        debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
            bookworm "$rootfs" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
            || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
        mkdir -p "$CACHE/base"
        tar -C "$rootfs" --numeric-owner -cf "$CACHE/base/rootfs.tar" .
        rm -rf "$rootfs"
    fi
    printf 'FROM scratch\nADD rootfs.tar /\nENV LANG=C.UTF-8\nCMD ["python3"]\n' \
        >"$CACHE/base/Containerfile"
    b bud --quiet --isolation chroot -t "$BASE_IMAGE" -f "$CACHE/base/Containerfile" "$CACHE/base"
}

build() {
    base
    local extra=()
    # A private CA (TLS-inspecting proxy): lend the host's bundle to pip for the build only.
    if [[ -n ${PIP_CERT:-} && -f $PIP_CERT ]]; then
        extra+=(--volume "$PIP_CERT:/etc/ssl/certs/hotline-build-ca.pem:ro"
                --build-arg PIP_CERT=/etc/ssl/certs/hotline-build-ca.pem)
    fi
    echo "image: building $IMAGE from $BASE_IMAGE"
    b bud --isolation chroot --build-arg "BASE=$BASE_IMAGE" "${extra[@]}" \
        -t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT"
}

mkdir -p "$CACHE"
command -v buildah >/dev/null || { echo "image: apt-get install buildah" >&2; exit 1; }
case "${1:-}" in
    base) base ;;
    build) build ;;
    buildah) shift; b "$@" ;;
    *) echo "usage: $0 base|build|buildah ARGS..." >&2; exit 2 ;;
esac
