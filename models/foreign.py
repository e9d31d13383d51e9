"""Models trained elsewhere: which files are foreign, and loading them with their sidecar.

A ``.onnx`` file without vqseg metadata, a ``.pt2`` program, a TorchScript archive, or any other file
with a sidecar next to it; vqseg's own checkpoints and exports (which need none) load as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from models.segmenter import Segmenter
from models.sidecar import sidecar_path


def is_foreign(path: str | Path, sidecar: str | Path | None = None) -> bool:
    """Whether ``path`` is a model file vqseg did not write (it then needs a sidecar or flags)."""
    path = Path(path)
    if not path.is_file():
        return False
    if path.suffix == ".pt2":
        return True
    if path.suffix.lower() == ".onnx":
        import onnx

        from models.onnx.metadata import FORMAT, KEY_FORMAT

        try:
            props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        except Exception:  # unreadable: let the vqseg loader say so
            return False
        return props.get(KEY_FORMAT) != FORMAT
    from models.foreign_torch import is_torchscript

    if is_torchscript(path):
        return True
    found = Path(sidecar) if sidecar else sidecar_path(path)
    return found is not None and found.is_file()  # vqseg checkpoints carry their description: no sidecar


def load_foreign(
    path: str | Path,
    device: str = "auto",
    providers: str | Sequence[str] | None = None,
    sidecar: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Segmenter:
    """A foreign model behind the ``Segmenter`` interface (ONNX Runtime for .onnx, torch otherwise)."""
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        from models.onnx.foreign import load_foreign_onnx

        return load_foreign_onnx(path, device, providers, sidecar, overrides)
    if providers is not None:
        raise ValueError("execution providers apply to ONNX files only")
    from models.foreign_torch import load_foreign_torch

    return load_foreign_torch(path, device, sidecar, overrides)
