"""``vqseg bench`` on models made elsewhere: it times the modes the model can run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vqseg.cli import main


@pytest.mark.parametrize(("kind", "modes"), [
    ("lraspp_onnx", ["dnn", "vqdnn"]),  # no dropout: the MC modes are left out, not failed
    ("smp_torchscript", ["dnn", "bnn", "vqdnn", "vqbnn"]),
])
def test_bench_times_what_the_model_can_run(elsewhere, tmp_path: Path, kind: str, modes: list[str]) -> None:  # type: ignore[no-untyped-def]
    argv = ["bench", "--model", str(elsewhere(kind)), "--quick", "--skip-server", "--device", "cpu",
            "--out", str(tmp_path)]
    assert main(argv) == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    assert sorted(report["model"]["fps"]) == sorted(modes) and all(v > 0 for v in report["model"]["fps"].values())
    assert report["run"]["classes"] == 19


def test_bench_refuses_an_mc_mode_the_model_cannot_run(elsewhere, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    argv = ["bench", "--model", str(elsewhere("lraspp_onnx")), "--quick", "--skip-server", "--modes", "bnn",
            "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "mode 'bnn' needs MC dropout" in capsys.readouterr().out
