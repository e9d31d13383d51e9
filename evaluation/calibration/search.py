"""Per mode, the temperature and (for the MC modes) the MC dropout rate that minimise the NLL of
what the mode serves, plus a tau / K suggestion for the smoothing modes (reported, never applied).

The deterministic modes (dnn, vqdnn) need one cache and a temperature. The MC modes (bnn, vqbnn)
are searched over a grid of rates: the network's MC passes are cached at each rate in turn (only
the sampled pixels are kept, and only one rate's passes at a time), a temperature is fitted per
rate, and the rate whose fitted NLL is lowest wins. "Before" is always the training rate at T = 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from evaluation.calibration.cache import RunCache, cache_runs
from evaluation.calibration.fit import fit_temperature, mean_nll, runs_for, scores
from evaluation.suite import EvalSequence
from models import Segmenter
from streaming import Mode, StreamConfig

DEFAULT_RATES = (0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
TAU_FACTORS = ((0.5, 4), (1.0, 6), (2.0, 8), (4.0, 12))  # (tau multiple of the configured tau, K)


@dataclass
class ModeFit:
    """The fitted temperature (and rate), scores before (T = 1, training rate) and after, on the
    fitting pixels; ``by_rate`` is rate -> (fitted T, NLL) for MC modes; ``smoothing`` the tau / K table."""

    temperature: float
    before: dict[str, float]
    after: dict[str, float]
    rate: float | None = None
    by_rate: dict[float, tuple[float, float]] = field(default_factory=dict)
    smoothing: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"temperature": self.temperature, "before": self.before, "after": self.after}
        if self.rate is not None:
            data["rate"] = self.rate
            data["by_rate"] = [{"rate": r, "temperature": t, "nll": n} for r, (t, n) in sorted(self.by_rate.items())]
        if self.smoothing:
            data["smoothing"] = self.smoothing
        return data


def smoothing_table(caches: Sequence[RunCache], mode: Mode, temperature: float, config: StreamConfig) -> list[dict]:
    """NLL of a smoothing mode at ``temperature`` for a few (tau, K): what a longer or shorter memory would do."""
    rows = []
    for factor, window in TAU_FACTORS:
        variant = replace(config, tau=config.tau * factor, window=window)
        rows.append({"tau": variant.tau, "window": window, "nll": mean_nll(caches, mode, temperature, variant)})
    return rows


def _fit(caches: Sequence[RunCache], mode: Mode, config: StreamConfig) -> tuple[float, float]:
    temperature = fit_temperature(caches, mode, config)
    return temperature, mean_nll(caches, mode, temperature, config)


def search(
    segmenter: Segmenter,
    runs: Sequence[tuple[EvalSequence, bool]],
    modes: Sequence[Mode],
    config: StreamConfig,
    rates: Sequence[float],
    pixels: int,
    per_frame: int = 1,
    progress: bool = True,
) -> dict[str, ModeFit]:
    """Fit every mode of ``modes`` that has runs; ``rates`` empty keeps the training rate (T only)."""
    total = sum(len(r) for r, _ in runs)
    results: dict[str, ModeFit] = {}
    plain = [m for m in modes if not m.mc]
    if plain:
        caches = cache_runs(segmenter, runs, True, 0, pixels, total, progress)
        for mode in plain:
            if runs_for(mode, caches):
                t = fit_temperature(caches, mode, config)
                fit = ModeFit(t, scores(caches, mode, 1.0, config), scores(caches, mode, t, config))
                if mode.smooths:
                    fit.smoothing = smoothing_table(caches, mode, t, config)
                results[mode.value] = fit
    mc = [m for m in modes if m.mc]
    if not mc:
        return results
    training = segmenter.meta.dropout
    grid = sorted({*(float(r) for r in rates), training})
    samples = config.samples if Mode.BNN in mc else per_frame
    best: dict[Mode, tuple[float, float, float]] = {}  # mode -> (nll, rate, T)
    for rate in grid:
        caches = cache_runs(segmenter, runs, False, samples, pixels, total, progress, rate=rate, per_frame=per_frame)
        for mode in mc:
            if not runs_for(mode, caches):
                continue
            t, nll = _fit(caches, mode, config)
            fit = results.setdefault(mode.value, ModeFit(t, {}, {}, rate))
            fit.by_rate[rate] = (t, nll)
            if rate == training:
                fit.before = scores(caches, mode, 1.0, config)
            if mode not in best or nll < best[mode][0]:
                best[mode] = (nll, rate, t)
                fit.rate, fit.temperature, fit.after = rate, t, scores(caches, mode, t, config)
                if mode.smooths:
                    fit.smoothing = smoothing_table(caches, mode, t, config)
    return results
