#!/usr/bin/env bash
# Install the Debian packages a make target needs and this machine lacks, so `make run` and
# `make test` set up a fresh machine by themselves (only the package registries are needed).
#
#   services/system-packages.sh venv|run|test|bench
#
# venv:  python3-venv, if this Python cannot make a virtualenv (Debian splits ensurepip off)
# run:   Java (Kafka's broker), Maven (fetches Kafka's jars from Maven Central), jq (the
#        README's walkthrough reads JSON answers with it)
# test:  the same, plus chromium (the auditor's pages are tested headless) and a CJK font
#        (fonts-noto-cjk: without one every Chinese character on the pages is an empty box)
# bench: the same as run, plus wrk (the HTTP load generator)
set -euo pipefail

# PostgreSQL is not among them: services/postgres-binaries.sh fetches the pinned 17.x build.
wanted=()
if [[ ${1:-} == venv ]]; then
    ${PYTHON:-python3} -c 'import ensurepip' 2>/dev/null || wanted+=(python3-venv)
else
    command -v java >/dev/null || wanted+=(openjdk-17-jre-headless)
    command -v mvn >/dev/null || wanted+=(maven)
    command -v jq >/dev/null || wanted+=(jq)
fi
case "${1:-}" in
    venv | run) ;;
    test)
        command -v chromium >/dev/null || wanted+=(chromium)
        fc-list :lang=zh 2>/dev/null | grep -q . || wanted+=(fonts-noto-cjk)
        ;;
    bench) command -v wrk >/dev/null || wanted+=(wrk) ;;
    *) echo "usage: $0 venv|run|test|bench" >&2; exit 2 ;;
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
