#!/usr/bin/env bash
# Builds the pinned LiveKit server and CLI from their Go modules into .tools/bin (git-ignored), unless the right
# versions are already there. Needs Go >= 1.26 and the Go module proxy. First build: a few minutes on 2 cores
# (the module and build caches make a rebuild quick).
set -euo pipefail
cd "$(dirname "$0")/.."

SERVER_VERSION=1.13.5
CLI_VERSION=2.18.2
# The CLI's own go.mod asks for a livekit/protocol pseudo-version that the module proxy does not serve; this is the
# protocol version the server above is built with (served), which the CLI compiles against unchanged.
CLI_PROTOCOL_VERSION=v1.50.5-0.20260728075222-28e604c046c6
BIN="$PWD/.tools/bin"
mkdir -p "$BIN"

if ! command -v go >/dev/null 2>&1; then
  echo "setup: Go is needed to build livekit-server and lk (Go >= 1.26 from your distribution or go.dev); not found" >&2
  exit 1
fi

version_of() { "$1" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1 || true; }

if [ "$(version_of "$BIN/livekit-server")" = "$SERVER_VERSION" ]; then
  echo "setup: livekit-server $SERVER_VERSION already built"
else
  echo "setup: building livekit-server $SERVER_VERSION from its Go module (first time: about 4 minutes on 2 cores)"
  started=$SECONDS
  GOBIN="$BIN" go install "github.com/livekit/livekit-server/cmd/server@v$SERVER_VERSION"
  mv -f "$BIN/server" "$BIN/livekit-server"
  echo "setup: livekit-server built in $((SECONDS - started)) s"
fi

if [ "$(version_of "$BIN/lk")" = "$CLI_VERSION" ]; then
  echo "setup: lk $CLI_VERSION already built"
else
  echo "setup: building lk $CLI_VERSION from its Go module (first time: about 4 minutes on 2 cores)"
  started=$SECONDS
  # `go install …/cmd/lk@v$CLI_VERSION` stops at the unserved protocol version, so build it from a throw-away module
  # that requires the CLI and raises that one dependency. The audio console links the system PortAudio (the module
  # zip lacks the vendored copy).
  work="$PWD/.tools/build/lk"
  rm -rf "$work" && mkdir -p "$work"
  cat >"$work/go.mod" <<EOF
module local/lk-build

go 1.26

require (
	github.com/livekit/livekit-cli/v2 v$CLI_VERSION
	github.com/livekit/protocol $CLI_PROTOCOL_VERSION
)
EOF
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/livekit/livekit-cli/v2/cmd/lk"\n' >"$work/tools.go"
  (cd "$work" && go mod tidy >/dev/null && CGO_CFLAGS="-w" go build -tags portaudio_system -o "$BIN/lk" github.com/livekit/livekit-cli/v2/cmd/lk)
  echo "setup: lk built in $((SECONDS - started)) s"
fi
