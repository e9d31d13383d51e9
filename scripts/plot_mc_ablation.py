"""Draw the MC-rate ablation picture from ``vqseg calibrate`` JSON reports (docs/training.md).

    python scripts/plot_mc_ablation.py docs/images/mc_rate_ablation.png runs/mc_default/*.cal.json
"""

from __future__ import annotations

import sys
from pathlib import Path

from evaluation.rate_plot import write_rate_ablation

if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    out = write_rate_ablation(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
    sys.stdout.write(f"wrote {out}\n")
