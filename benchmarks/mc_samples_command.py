"""What several MC samples per frame cost: one pass vs M samples through the cheap path (trunk once,
sampled tail on ``B·M`` features) vs M whole passes, timed side by side in one process, batch 1.

    python -m benchmarks.mc_samples_command --model models/default/vqseg_default.pt --samples 1,4,8 --threads 1

Each round times every variant once, in rotating order, so load from other processes hits all alike;
the figures are medians over rounds. Only the network is timed (prepare and blending excluded).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from models import load_checkpoint
from models.backend_torch import TorchSegmenter
from models.sampling import has_cheap_tail


def _timed(run: Callable[[], torch.Tensor]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def measure(segmenter: TorchSegmenter, samples: list[int], rounds: int, seed: int = 0) -> dict[str, object]:
    """Median seconds per frame of each variant and its ratio to one deterministic pass."""
    h, w = segmenter.meta.input_size
    frame = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    batch = segmenter.prepare([frame])
    variants: dict[str, Callable[[], torch.Tensor]] = {
        "one pass (dropout off)": lambda: segmenter.predict(batch, mc=False),
        "one MC pass": lambda: segmenter.predict(batch, mc=True),
    }
    for m in samples:
        if m > 1:
            variants[f"{m} samples, cheap path"] = lambda m=m: segmenter.predict_samples(batch, m)
            variants[f"{m} samples, whole passes"] = lambda m=m: segmenter.predict(batch.repeat(m, 1, 1, 1), mc=True)
    names = list(variants)
    for name in names:  # warm-up
        variants[name]()
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(_timed(variants[name]))
    base = statistics.median(times[names[0]])
    return {
        "cheap_tail": has_cheap_tail(segmenter.model),
        "placement": segmenter.meta.arch_options.get("dropout_placement", "deep"),
        "rows": [
            {"variant": n, "ms": 1000 * statistics.median(times[n]), "ratio": statistics.median(times[n]) / base}
            for n in names
        ],
    }


def render(result: dict[str, object], model: str) -> str:
    lines = [
        f"`{model}` (dropout placement {result['placement']}, cheap tail: {result['cheap_tail']}), batch 1, "
        f"threads {torch.get_num_threads()}:",
        "",
        "| variant | ms / frame | × one pass |",
        "|---|---|---|",
    ]
    for row in result["rows"]:  # type: ignore[attr-defined]
        lines.append(f"| {row['variant']} | {row['ms']:.1f} | {row['ratio']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cost of several MC samples per frame")
    parser.add_argument("--model", type=Path, required=True, help="vqseg checkpoint (.pt)")
    parser.add_argument("--samples", default="1,4,8", help="comma-separated M")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, meta = load_checkpoint(args.model)
    segmenter = TorchSegmenter(model, meta, torch.device("cpu"))
    result = measure(segmenter, [int(s) for s in args.samples.split(",")], args.rounds)
    print(render(result, str(args.model)))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
