# syntax=docker/dockerfile:1
#
# vqseg server image: GPU (default) or CPU, from one Dockerfile.
#
#   docker build -t vqseg:gpu .
#   docker build --build-arg VARIANT=cpu --build-arg TORCH_INDEX_URL=<PyTorch CPU wheel index> -t vqseg:cpu .
#
# Stages: base-<variant> (interpreter only) -> tools-<variant> (+ venv tooling) -> builder (a venv with
# torch, onnxruntime and vqseg, default model included) -> runtime (base + that venv; no compilers, no
# package caches, no pip downloads). docs/deploy.md lists every build argument and setting.

# gpu | cpu
ARG VARIANT=gpu
# CUDA runtime with cuDNN (onnxruntime-gpu loads cuDNN/cuBLAS from the system); CUDA 13 needs driver >= 580.
ARG CUDA_IMAGE=nvidia/cuda:13.0.0-cudnn-runtime-ubuntu22.04
ARG CPU_IMAGE=python:3.11-slim

# ---------------------------------------------------------------- interpreters, one per variant
FROM ${CUDA_IMAGE} AS base-gpu
ENV DEBIAN_FRONTEND=noninteractive \
    VQSEG_PYTHON=/usr/bin/python3.11
# Versions come with the pinned base image; apt pins would break as soon as the archive moves on.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.11 \
 && rm -rf /var/lib/apt/lists/*

FROM ${CPU_IMAGE} AS base-cpu
ENV VQSEG_PYTHON=/usr/local/bin/python3.11

# ---------------------------------------------------------------- what creating a venv needs
FROM base-gpu AS tools-gpu
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.11-venv \
 && rm -rf /var/lib/apt/lists/*

FROM base-cpu AS tools-cpu

# ---------------------------------------------------------------- builder: /opt/venv
# (tools-*/base-* below are stages of this file, not images: DL3006 does not apply.)
# hadolint ignore=DL3006
FROM tools-${VARIANT} AS builder
ARG VARIANT
ARG TORCH_VERSION=2.14.1
ARG TORCHVISION_VERSION=0.29.1
ARG PIP_VERSION=26.3
# Package indexes. Empty = whatever the builder's pip uses by default. TORCH_INDEX_URL is used for the
# torch/torchvision step only: a PyTorch CUDA wheel index for VARIANT=gpu (the default PyPI build is
# already CUDA-enabled), the PyTorch CPU wheel index for VARIANT=cpu (a much smaller image).
ARG INDEX_URL=""
ARG TORCH_INDEX_URL=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# pip reads PIP_INDEX_URL; it is exported only when an index was given.
ENV PATH=/opt/venv/bin:$PATH
RUN "$VQSEG_PYTHON" -m venv /opt/venv \
 && if [ -n "$INDEX_URL" ]; then export PIP_INDEX_URL="$INDEX_URL"; fi \
 && pip install --no-cache-dir "pip==${PIP_VERSION}"

# torch first: the biggest layer, reused while only vqseg's sources change.
RUN index="${TORCH_INDEX_URL:-$INDEX_URL}" \
 && if [ -n "$index" ]; then export PIP_INDEX_URL="$index"; fi \
 && pip install --no-cache-dir "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}"

WORKDIR /src
COPY pyproject.toml README.md ./
COPY vqseg ./vqseg
COPY models ./models
COPY streaming ./streaming
COPY server ./server
COPY evaluation ./evaluation
COPY synthetic ./synthetic
COPY benchmarks ./benchmarks
# A regular (non-editable) install: the default model travels as package data of `models`. The
# versions of vqseg's dependencies are pyproject.toml's to pin, not this file's.
# hadolint ignore=DL3013
RUN if [ -n "$INDEX_URL" ]; then export PIP_INDEX_URL="$INDEX_URL"; fi \
 && pip install --no-cache-dir . \
 && site="$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
 && { test -s "$site/models/default/vqseg_default.pt" \
      || { echo "models/default/vqseg_default.pt is missing from the build context: the image must embed the default model" >&2; exit 1; }; }

# The CPU image runs onnxruntime (CPU build) in place of onnxruntime-gpu: same module, same version.
RUN if [ -n "$INDEX_URL" ]; then export PIP_INDEX_URL="$INDEX_URL"; fi \
 && if [ "$VARIANT" = cpu ]; then \
      ort="$(pip show onnxruntime-gpu | sed -n 's/^Version: //p')" \
      && pip uninstall -y onnxruntime-gpu \
      && pip install --no-cache-dir "onnxruntime==${ort}"; \
    fi \
 && python -c "import onnxruntime, torch, cv2, server, models, streaming"

# ---------------------------------------------------------------- runtime
# hadolint ignore=DL3006
FROM base-${VARIANT} AS runtime
ARG VARIANT
LABEL org.opencontainers.image.title="vqseg" \
      org.opencontainers.image.description="Real-time video semantic segmentation with per-pixel uncertainty (VQ-BNN)" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --system --gid 10001 vqseg \
 && useradd --system --uid 10001 --gid vqseg --home-dir /home/vqseg --create-home --shell /usr/sbin/nologin vqseg \
 && install -d -o vqseg -g vqseg -m 0755 /models /data

COPY --from=builder /opt/venv /opt/venv
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/vqseg-entrypoint
COPY --chmod=0644 docker/healthcheck.py docker/make_demo_clip.py /usr/local/share/vqseg/

# Settings are VQSEG_* variables (pydantic-settings); these are the image's defaults. VQSEG_MODEL is left
# unset: the embedded default model. Point it at /models/<file> (.pt checkpoint or .onnx) to use your own;
# VQSEG_BACKEND is left unset too (onnx for .onnx files, torch otherwise).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/vqseg \
    VQSEG_VARIANT=${VARIANT} \
    VQSEG_HOST=0.0.0.0 \
    VQSEG_PORT=8000 \
    VQSEG_DEVICE=auto

USER 10001:10001
WORKDIR /data
# Your models, mounted read-only: -v /srv/vqseg/models:/models:ro -e VQSEG_MODEL=/models/my.pt
VOLUME ["/models"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python", "/usr/local/share/vqseg/healthcheck.py"]

ENTRYPOINT ["/usr/local/bin/vqseg-entrypoint"]
CMD ["serve"]
