"""The GPU image builds here and carries a working CUDA user space (no GPU on this machine).

What can be checked without a GPU: torch is the CUDA build, onnxruntime-gpu offers its CUDA provider,
every CUDA library both load (the CUDA runtime, cuBLAS, cuDNN, cuRAND, cuFFT from torch's nvidia
wheels) is found by the dynamic loader inside the image, and the one library missing is the
driver's libcuda, which the NVIDIA container runtime mounts when a GPU is given. Running kernels on a
GPU (``--gpus all``) cannot be checked here.
"""

from __future__ import annotations

import json

import pytest
from docker_engine import Docker

pytestmark = [pytest.mark.slow, pytest.mark.docker]

PROBE = r"""
import ctypes, json, os, subprocess, sysconfig
import onnxruntime, torch
site = sysconfig.get_paths()["purelib"]
provider = os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime_providers_cuda.so")
ldd = subprocess.run(["ldd", provider], capture_output=True, text=True).stdout
loaded = {}
for lib in ["libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcudnn.so.9", "libcurand.so.10",
            "libcufft.so.12"]:
    try:
        ctypes.CDLL(lib)
        loaded[lib] = True
    except OSError as exc:
        loaded[lib] = str(exc)
print(json.dumps({
    "torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
    "cuda_available": torch.cuda.is_available(), "providers": onnxruntime.get_available_providers(),
    "not_found": sorted(line.split()[0] for line in ldd.splitlines() if "not found" in line),
    "loaded": loaded, "variant": os.environ.get("VQSEG_VARIANT"),
    "driver_capabilities": os.environ.get("NVIDIA_DRIVER_CAPABILITIES", ""),
}))
"""


def test_gpu_image_builds_with_a_complete_cuda_user_space(docker: Docker, gpu_image: str) -> None:
    result = docker.run("run", "--rm", "--network", "none", "--entrypoint", "python", gpu_image, "-c", PROBE,
                        timeout=120)
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["variant"] == "gpu"
    assert probe["cuda"] and probe["cuda"].startswith("13."), probe
    assert probe["cudnn"] and probe["cudnn"] >= 90000, probe
    assert probe["cuda_available"] is False, "no GPU here: this machine cannot run the CUDA path"
    assert "CUDAExecutionProvider" in probe["providers"], probe["providers"]
    assert all(ok is True for ok in probe["loaded"].values()), probe["loaded"]
    assert probe["not_found"] == ["libcuda.so.1"], "only the driver's library may be missing"
    assert "compute" in probe["driver_capabilities"].split(",")
