#!/usr/bin/env bash
# Create .venv and install vqseg with its test tools. Safe to run again (it only adds what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch/torchvision are pinned in pyproject.toml (2.14.1 / 0.29.1); pip takes them from the local wheel cache.
# the camera-side client is its own distribution (websockets, numpy, OpenCV): the server and CLI use it
.venv/bin/python -m pip install --quiet -e ./client
.venv/bin/python -m pip install --quiet -e ".[dev]"
echo "vqseg installed in .venv ($(.venv/bin/vqseg --version))"
