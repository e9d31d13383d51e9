"""Models made by other tools, built once per test session into one folder (see ``made_elsewhere``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.foreign import made_elsewhere


@pytest.fixture(scope="session")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``elsewhere(kind)``: the model file of ``kind`` (lraspp_onnx, segformer_onnx, smp_pt2,
    smp_torchscript, smp_traced, smp_onnx, smp_onnx_random, smp_module), made on first use and kept for
    the session."""
    folder = tmp_path_factory.mktemp("made-elsewhere")
    made: dict[str, Path] = {}
    factories: dict[str, Callable[[Path], Path]] = {
        "lraspp_onnx": made_elsewhere.lraspp_onnx,
        "segformer_onnx": made_elsewhere.segformer_onnx,
        "smp_pt2": made_elsewhere.smp_pt2,
        "smp_torchscript": made_elsewhere.smp_torchscript,
        "smp_traced": lambda f: made_elsewhere.smp_torchscript(f, traced=True),
        "smp_onnx": made_elsewhere.smp_onnx,
        "smp_onnx_random": made_elsewhere.smp_onnx_random,
        "smp_module": made_elsewhere.smp_module,
    }

    def get(kind: str) -> Path:
        if kind not in made:
            made[kind] = factories[kind](folder)
        return made[kind]

    return get


def copy_model(source: Path, target_folder: Path, sidecar: str | None) -> Path:
    """``source`` (and its ``.data`` side file) copied into ``target_folder`` with ``sidecar`` as its
    sidecar text (None: no sidecar)."""
    import shutil

    target_folder.mkdir(parents=True, exist_ok=True)
    target = target_folder / source.name
    shutil.copyfile(source, target)
    side = source.with_name(source.name + ".data")
    if side.is_file():
        shutil.copyfile(side, target.with_name(side.name))
    if sidecar is not None:
        made_elsewhere.write_sidecar(target, sidecar)
    return target
