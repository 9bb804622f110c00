#!/usr/bin/env bash
# Install the Debian packages a make target needs and this machine lacks, so `make run` and
# `make test` set up a fresh machine by themselves (only the package registries are needed).
#
#   services/system-packages.sh run|test|bench
#
# run:   Java (Kafka's broker), Maven (fetches Kafka's jars from Maven Central)
# test:  the same, plus chromium (the auditor's pages are tested headless) and a CJK font
#        (fonts-noto-cjk: without one every Chinese character on the pages is an empty box)
# bench: the same as run, plus wrk (the HTTP load generator)
set -euo pipefail

# PostgreSQL is not among them: services/postgres-binaries.sh fetches the pinned 17.x build.
wanted=()
command -v java >/dev/null || wanted+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || wanted+=(maven)
case "${1:-}" in
    run) ;;
    test)
        command -v chromium >/dev/null || wanted+=(chromium)
        fc-list :lang=zh 2>/dev/null | grep -q . || wanted+=(fonts-noto-cjk)
        ;;
    bench) command -v wrk >/dev/null || wanted+=(wrk) ;;
    *) echo "usage: $0 run|test|bench" >&2; exit 2 ;;
esac
((${#wanted[@]})) || exit 0

echo "system-packages: installing ${wanted[*]}"
if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "system-packages: run as root, or install: ${wanted[*]}" >&2; exit 1; }
    SUDO=(sudo)
else
    SUDO=()
fi
"${SUDO[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q "${wanted[@]}"
