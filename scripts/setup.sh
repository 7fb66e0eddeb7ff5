#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine: the system packages the stack and its tests run on, then the
# npm packages (which bring Node 24 itself: npm scripts run node_modules/.bin/node).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
# Real speech for the worker's tests (espeak-ng) and audio measurement (sox).
command -v espeak-ng >/dev/null 2>&1 || packages+=(espeak-ng)
command -v sox >/dev/null 2>&1 || packages+=(sox)
# Ogg/Opus files for `lk room join --publish` (opusenc); PortAudio headers for building the lk CLI.
command -v opusenc >/dev/null 2>&1 || packages+=(opus-tools)
[ -f /usr/include/portaudio.h ] || packages+=(portaudio19-dev)
command -v pkg-config >/dev/null 2>&1 || packages+=(pkg-config)
# The end-of-turn model's tests check its figure on other CPUs' int8 kernels by running it under qemu-user.
command -v qemu-x86_64 >/dev/null 2>&1 || packages+=(qemu-user)
# The talk page's browser tests run Debian's Chromium (never a test tool's own browser download).
command -v chromium >/dev/null 2>&1 || packages+=(chromium)

if ((${#packages[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${packages[*]} with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# onnxruntime-node (the worker's VAD) would download extras at install time; its CPU build ships in the package.
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
# The real LiveKit server and CLI, pinned, built from their Go modules into .tools/bin.
bash scripts/build-livekit.sh
bash scripts/fetch-turn-model.sh # the end-of-turn model (worker/end-of-turn/), pinned, into .tools/models
echo "setup: done (node $(node_modules/.bin/node --version) from node_modules)"
