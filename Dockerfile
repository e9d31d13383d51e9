# vqseg server image, GPU (default) or CPU, from one Dockerfile and one Python base.
#
#   docker build --network host -t vqseg:gpu .
#   docker build --network host --build-arg VARIANT=cpu -t vqseg:cpu .
#
# No registry but the base image's: BASE_IMAGE is any Debian-based image with a CPython 3.11 release,
# venv support and ca-certificates (python:3.11-slim-bookworm, or `scripts/docker_base.sh`'s
# local/python:3.11-bookworm made with debootstrap). The GPU variant needs no CUDA base: torch's CUDA
# wheels bring the CUDA runtime, cuBLAS and cuDNN as pip packages, and the NVIDIA container runtime
# mounts the driver. Behind a TLS-inspecting proxy give pip its CA: --build-arg EXTRA_CA_CERTS="$(cat ca.crt)".
# Builds with BuildKit and with the legacy builder (no syntax frontend, no COPY --chmod, no RUN --mount).
#
# Stages: builder (a venv with torch, onnxruntime, openvino and vqseg, default model included) -> runtime (the
# base + that venv + three scripts; no compilers, no package caches). docs/deploy.md lists every
# build argument and setting.

ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- builder: /opt/venv
FROM ${BASE_IMAGE} AS builder
ARG PYTHON=python3.11
ARG TORCH_VERSION=2.14.1
ARG TORCHVISION_VERSION=0.29.1
ARG PIP_VERSION=26.3
# Package indexes. Empty = whatever the builder's pip uses by default. TORCH_INDEX_URL is used for the
# torch/torchvision step only (e.g. a PyTorch CPU wheel index for VARIANT=cpu: a much smaller image).
ARG INDEX_URL=""
ARG TORCH_INDEX_URL=""
# PEM certificates added to the system bundle for pip (a TLS-inspecting proxy's CA). Builder only: the
# runtime image never sees them. A CA certificate is public; it is an argument, not a secret.
ARG EXTRA_CA_CERTS=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PIP_CERT=/opt/build-ca.pem \
    PATH=/opt/venv/bin:$PATH
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# pip reads PIP_INDEX_URL; it is exported only when an index was given.
RUN cat /etc/ssl/certs/ca-certificates.crt >/opt/build-ca.pem \
 && if [ -n "$EXTRA_CA_CERTS" ]; then printf '%s\n' "$EXTRA_CA_CERTS" >>/opt/build-ca.pem; fi \
 && "$PYTHON" -m venv /opt/venv \
 && if [ -n "$INDEX_URL" ]; then export PIP_INDEX_URL="$INDEX_URL"; fi \
 && pip install --no-cache-dir "pip==${PIP_VERSION}"

# torch first: the biggest layer, reused while only vqseg's sources change.
RUN index="${TORCH_INDEX_URL:-$INDEX_URL}" \
 && if [ -n "$index" ]; then export PIP_INDEX_URL="$index"; fi \
 && pip install --no-cache-dir "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}"

# gpu | cpu. Declared after the torch step, so both variants share that layer (the same CUDA wheels
# unless TORCH_INDEX_URL differs).
ARG VARIANT=gpu
# The build context is .dockerignore's whitelist: the packages, pyproject.toml, README.md, docker/ scripts.
COPY . /src
WORKDIR /src
# A regular (non-editable) install: the default model travels as package data of `models`. The
# versions of vqseg's dependencies are pyproject.toml's to pin, not this file's. The CPU image runs
# onnxruntime (CPU build) in place of onnxruntime-gpu: same module, same version. triton (torch's
# compiler for torch.compile, which vqseg does not use) goes: 0.9 GB less.
# hadolint ignore=DL3013
RUN if [ -n "$INDEX_URL" ]; then export PIP_INDEX_URL="$INDEX_URL"; fi \
 && pip install --no-cache-dir . \
 && if [ -f client/pyproject.toml ]; then pip install --no-cache-dir ./client && python -c "import vqseg_client"; fi \
 && if [ "$VARIANT" = cpu ]; then \
      ort="$(pip show onnxruntime-gpu | sed -n 's/^Version: //p')" \
      && pip uninstall -y onnxruntime-gpu \
      && pip install --no-cache-dir "onnxruntime==${ort}"; \
    fi \
 && pip uninstall -y triton \
 && site="$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
 && { test -s "$site/models/default/vqseg_default.pt" \
      || { echo "models/default/vqseg_default.pt is missing from the build context: the image must embed the default model" >&2; exit 1; }; } \
 && python -c "import onnxruntime, openvino, torch, cv2, server, models, streaming; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'onnxruntime', onnxruntime.__version__, onnxruntime.get_available_providers(), 'openvino', openvino.__version__)" \
 && install -D -m 0755 docker/entrypoint.sh /opt/image/usr/local/bin/vqseg-entrypoint \
 && install -D -m 0644 -t /opt/image/usr/local/share/vqseg docker/healthcheck.py docker/make_demo_clip.py \
      docker/stop_gracefully.py

# ---------------------------------------------------------------- runtime
FROM ${BASE_IMAGE} AS runtime
ARG VARIANT=gpu
LABEL org.opencontainers.image.title="vqseg" \
      org.opencontainers.image.description="Real-time video semantic segmentation with per-pixel uncertainty (VQ-BNN)" \
      org.opencontainers.image.licenses="Apache-2.0"

# The user without useradd (a debootstrap minbase has no passwd package).
RUN echo 'vqseg:x:10001:10001:vqseg:/home/vqseg:/usr/sbin/nologin' >>/etc/passwd \
 && echo 'vqseg:x:10001:' >>/etc/group \
 && mkdir -p /home/vqseg /models /data \
 && chown 10001:10001 /home/vqseg /models /data

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /opt/image/ /

# Settings are VQSEG_* variables (pydantic-settings); these are the image's defaults. VQSEG_MODEL is left
# unset: the embedded default model. Point it at /models/<file> (.pt checkpoint or .onnx) to use your own;
# VQSEG_BACKEND is left unset too: auto, the fastest CPU runtime installed (OpenVINO, then ONNX Runtime,
# then torch; torch on a GPU), docs/onnx.md. NVIDIA_DRIVER_CAPABILITIES
# asks the NVIDIA container runtime for the compute libraries when a GPU is given (--gpus); without
# one it does nothing. LD_LIBRARY_PATH: onnxruntime-gpu's CUDA provider finds cuBLAS, cuDNN and the
# CUDA runtime in torch's nvidia wheels (torch finds them by itself); libcuda comes from the driver.
ENV PATH=/opt/venv/bin:$PATH \
    LD_LIBRARY_PATH=/opt/venv/lib/python3.11/site-packages/nvidia/cu13/lib:/opt/venv/lib/python3.11/site-packages/nvidia/cudnn/lib \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/vqseg \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    VQSEG_VARIANT=${VARIANT} \
    VQSEG_HOST=0.0.0.0 \
    VQSEG_PORT=8000 \
    VQSEG_DEVICE=auto

USER 10001:10001
WORKDIR /data
# Your models, mounted read-only: -v /srv/vqseg/models:/models:ro -e VQSEG_MODEL=/models/my.pt
VOLUME ["/models"]
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python", "/usr/local/share/vqseg/healthcheck.py"]

ENTRYPOINT ["/usr/local/bin/vqseg-entrypoint"]
CMD ["serve"]
