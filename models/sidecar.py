"""The sidecar file that describes a model trained elsewhere: classes, palette, input, normalisation, output.

``model.onnx`` (or ``model.pt``, ``model.pt2``) is described by ``model.vqseg.yaml`` (or ``.yml``,
``.json``) next to it; ``serve``/``eval`` flags can give the same keys. Most users write two lines::

    preset: cityscapes19        # or classes: [...] (+ palette: [[r, g, b], ...])
    input_size: 512x1024        # height x width; optional when the file fixes it

Other keys: ``mean``/``std`` (RGB, in [0, 1] or in [0, 255] as mmsegmentation writes them; default
ImageNet), ``channels`` (``RGB`` or ``BGR``: the order the network expects), ``output`` (``logits``
or ``probabilities``), ``layout`` (``NCHW`` or ``NHWC``), ``input_name``/``output_name`` (which
tensor, when a file has several), ``format`` (``torchscript``, ``torch-export``, ``torch-module``),
``name``, ``temperatures`` and ``mc_rates`` (per mode, written by ``vqseg calibrate``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.checkpoint import CheckpointError
from models.meta import IMAGENET_MEAN, IMAGENET_STD, ModelMeta
from models.presets import class_set, generated_palette

SUFFIXES = (".vqseg.yaml", ".vqseg.yml", ".vqseg.json")
OUTPUT_KINDS = ("logits", "probabilities")
LAYOUTS = ("NCHW", "NHWC")
CHANNELS = ("RGB", "BGR")
FORMATS = ("onnx", "torchscript", "torch-export", "torch-module")
KEYS = frozenset(
    {"name", "preset", "classes", "palette", "input_size", "mean", "std", "channels", "output", "layout",
     "input_name", "output_name", "format", "temperatures", "mc_rates"}
)


class SidecarError(CheckpointError):
    """A sidecar (or the flags standing for one) is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class ModelDescription:
    """What a sidecar says; ``input_size`` may be left to the model file (a fixed-size input)."""

    class_names: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...]
    input_size: tuple[int, int] | None = None
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    channels: str = "RGB"
    output: str = "logits"
    layout: str = "NCHW"
    input_name: str | None = None
    output_name: str | None = None
    format: str | None = None
    name: str = "model"
    temperatures: dict[str, float] = field(default_factory=dict)
    mc_rates: dict[str, float] = field(default_factory=dict)
    source: str = "flags"

    def meta(self, arch: str, input_size: tuple[int, int], dropout: float, info: Mapping[str, Any]) -> ModelMeta:
        """The ``ModelMeta`` of the loaded model (``input_size`` and ``dropout`` as found in the file)."""
        return ModelMeta(
            arch=arch, class_names=self.class_names, palette=self.palette, input_size=input_size,
            mean=self.mean, std=self.std, dropout=dropout, name=self.name,
            arch_options={"sidecar": self.source, "output": self.output, "layout": self.layout,
                          "channels": self.channels, **info},
            temperatures=dict(self.temperatures), mc_rates=dict(self.mc_rates),
        )


def sidecar_path(model: str | Path) -> Path | None:
    """The sidecar next to ``model`` (``model.vqseg.yaml``, ``.yml`` or ``.json``), if there is one."""
    model = Path(model)
    stem = model.name[: -len(model.suffix)] if model.suffix else model.name
    for suffix in SUFFIXES:
        candidate = model.with_name(stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def default_sidecar_path(model: str | Path) -> Path:
    """Where a sidecar for ``model`` is looked for first (``model.vqseg.yaml``)."""
    model = Path(model)
    stem = model.name[: -len(model.suffix)] if model.suffix else model.name
    return model.with_name(stem + SUFFIXES[0])


def read_sidecar_file(path: str | Path) -> dict[str, Any]:
    """The raw keys of a YAML or JSON sidecar."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SidecarError(f"cannot read the sidecar {path}: {exc}") from exc
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # yaml and json raise their own types
        raise SidecarError(f"{path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from exc
    if not isinstance(data, dict):
        raise SidecarError(f"{path} must hold a mapping of keys (preset, classes, input_size, ...)")
    return data


def write_sidecar(path: str | Path, data: Mapping[str, Any]) -> Path:
    """Write ``data`` as YAML (or JSON for ``.json``), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        text = json.dumps(dict(data), indent=2) + "\n"
    else:
        import yaml

        text = yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=None)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def describe_model(
    model: str | Path, sidecar: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> ModelDescription:
    """A model's description from its sidecar (found next to it unless ``sidecar`` names one) and
    ``overrides`` (flags; they win). Raises ``SidecarError`` naming what is missing."""
    path = Path(sidecar) if sidecar else sidecar_path(model)
    data: dict[str, Any] = {}
    if sidecar and not Path(sidecar).is_file():
        raise SidecarError(f"sidecar not found: {sidecar}")
    if path is not None:
        data = read_sidecar_file(path)
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    if not data:
        raise SidecarError(
            f"{Path(model).name} is not a vqseg model and has no sidecar: write {default_sidecar_path(model).name} "
            "next to it (e.g. 'preset: cityscapes19' and 'input_size: 512x1024'; docs/models.md) "
            "or pass --preset/--input-size"
        )
    data.setdefault("name", Path(model).stem)
    return parse_description(data, str(path) if path is not None else "flags")


def parse_description(data: Mapping[str, Any], source: str) -> ModelDescription:
    unknown = set(data) - KEYS
    if unknown:
        raise SidecarError(f"{source}: unknown keys {sorted(unknown)}; known: {', '.join(sorted(KEYS))}")
    names, palette = _classes(data, source)
    mean, std = _normalisation(data, source)
    output = str(data.get("output", "logits")).lower()
    layout = str(data.get("layout", "NCHW")).upper()
    channels = str(data.get("channels", "RGB")).upper()
    fmt = data.get("format")
    for key, value, allowed in (("output", output, OUTPUT_KINDS), ("layout", layout, LAYOUTS),
                                ("channels", channels, CHANNELS), ("format", fmt, (None, *FORMATS))):
        if value not in allowed:
            raise SidecarError(f"{source}: {key} must be one of {', '.join(a for a in allowed if a)}, got {value!r}")
    temperatures, mc_rates = _per_mode(data, "temperatures", source), _per_mode(data, "mc_rates", source)
    if any(not 0.0 <= r < 1.0 for r in mc_rates.values()):
        raise SidecarError(f"{source}: mc_rates must be in [0, 1), got {mc_rates}")
    return ModelDescription(
        class_names=names, palette=palette, input_size=_size(data.get("input_size"), source), mean=mean, std=std,
        channels=channels, output=output, layout=layout,
        input_name=_optional_str(data.get("input_name")), output_name=_optional_str(data.get("output_name")),
        format=fmt, name=str(data.get("name") or "model"),
        temperatures=temperatures, mc_rates=mc_rates, source=source,
    )


def _per_mode(data: Mapping[str, Any], key: str, source: str) -> dict[str, float]:
    """A ``{mode: number}`` key (``temperatures``, ``mc_rates``)."""
    raw = data.get(key) or {}
    try:
        if not isinstance(raw, dict):
            raise TypeError(type(raw).__name__)
        return {str(k): float(v) for k, v in raw.items()}
    except (TypeError, ValueError) as exc:
        raise SidecarError(f"{source}: {key} must map a mode to a number ({exc})") from exc


def _classes(data: Mapping[str, Any], source: str) -> tuple[tuple[str, ...], tuple[tuple[int, int, int], ...]]:
    preset = data.get("preset")
    names: tuple[str, ...] | None = None
    palette: tuple[tuple[int, int, int], ...] | None = None
    if preset is not None:
        try:
            chosen = class_set(str(preset))
        except ValueError as exc:
            raise SidecarError(f"{source}: {exc}") from exc
        names, palette = chosen.class_names, chosen.palette
    if data.get("classes") is not None:
        raw = data["classes"]
        if not isinstance(raw, list) or len(raw) < 2:
            raise SidecarError(f"{source}: classes must be a list of at least 2 names")
        names = tuple(str(n) for n in raw)
        palette = None if preset is None or len(names) != len(palette or ()) else palette
    if names is None:
        raise SidecarError(f"{source}: name the classes: 'preset: camvid11|cityscapes19|ade20k150' or 'classes: [...]'")
    if data.get("palette") is not None:
        try:
            palette = tuple((int(c[0]), int(c[1]), int(c[2])) for c in data["palette"])
        except (TypeError, ValueError, IndexError) as exc:
            raise SidecarError(f"{source}: palette must be a list of [r, g, b]: {exc}") from exc
        if len(palette) != len(names):
            raise SidecarError(f"{source}: palette has {len(palette)} colours for {len(names)} classes")
    return names, palette or generated_palette(len(names))


def _normalisation(data: Mapping[str, Any], source: str) -> tuple[tuple[float, float, float], ...]:
    values = []
    for key, default in (("mean", IMAGENET_MEAN), ("std", IMAGENET_STD)):
        raw = data.get(key, default)
        try:
            triple = tuple(float(v) for v in raw)
        except (TypeError, ValueError) as exc:
            raise SidecarError(f"{source}: {key} must be three numbers: {exc}") from exc
        if len(triple) != 3:
            raise SidecarError(f"{source}: {key} must be three numbers (R, G, B), got {len(triple)}")
        values.append(triple)
    mean, std = values
    if max(mean) > 1.0 or max(std) > 1.0:  # given on the 0..255 scale (mmsegmentation's convention)
        mean, std = tuple(v / 255.0 for v in mean), tuple(v / 255.0 for v in std)
    if min(std) <= 0:
        raise SidecarError(f"{source}: std must be positive, got {std}")
    if str(data.get("channels", "RGB")).upper() == "BGR":  # given in the network's order: keep RGB inside
        mean, std = mean[::-1], std[::-1]
    return mean, std  # type: ignore[return-value]


def _size(value: Any, source: str) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        if isinstance(value, str):
            h, w = (int(v) for v in value.lower().replace(",", "x").split("x"))
        else:
            h, w = (int(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise SidecarError(f"{source}: input_size must be HEIGHTxWIDTH or [height, width], got {value!r}") from exc
    if min(h, w) < 16:
        raise SidecarError(f"{source}: input_size must be at least 16x16, got {h}x{w}")
    return h, w


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def write_calibration(
    model: str | Path, sidecar: str | Path | None, out: str | Path | None, overrides: Mapping[str, Any],
    temperatures: Mapping[str, float], mc_rates: Mapping[str, float] | None = None,
) -> Path:
    """Store ``temperatures`` and ``mc_rates`` (``vqseg calibrate``) in a foreign model's sidecar: ``out``,
    else the sidecar it was described by (updated in place), else a new one next to the model; keys
    given as flags are written too, so the sidecar alone describes the model afterwards. No ``mc_rates``
    (a model whose rate cannot be set, or no MC mode fitted) leaves that key as it was."""
    source = Path(sidecar) if sidecar else sidecar_path(model)
    data: dict[str, Any] = read_sidecar_file(source) if source is not None else {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    data["temperatures"] = {str(k): round(float(v), 6) for k, v in temperatures.items()}
    if mc_rates:
        data["mc_rates"] = {str(k): round(float(v), 6) for k, v in mc_rates.items()}
    target = Path(out) if out else (source or default_sidecar_path(model))
    return write_sidecar(target, data)
