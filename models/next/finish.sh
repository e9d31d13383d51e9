#!/usr/bin/env bash
# The next default model (issue 19, item 3), finished early: the 21,000-step run of train.sh forked at its
# saved step 7,000 (models/next/vqseg_next.pt.resume, left as it is so that train.sh can still complete the
# long run) and ended at step 14,000 (2x the shipped default's schedule): from step 7,000 the learning rate
# falls on a cosine from its value there (2.3e-3) to 0 at step 14,000. Same recipe and batches otherwise.
# Run it again (same command) to continue from models/next/vqseg_next_14k.pt.resume after a --time-budget stop.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec nice -n 19 .venv/bin/vqseg train --data ../shared/datasets/camvid --mix-synthetic 0.2 --sequences 60 \
  --frames-per-sequence 8 --out models/next/vqseg_next_14k.pt --arch bayesian_unet --width 16 --dropout 0.2 \
  --dropout-placement tail --dropout-kind element --zoom 0.75,1.6 --blur 0.3 --input-size 180x240 \
  --crop 160x208 --class-weights sqrt --steps 21000 --batch 8 --lr 3e-3 --seed 0 --threads "${THREADS:-1}" \
  --eval-every 1000 --checkpoint-every 250 --resume --resume-from models/next/vqseg_next.pt.resume \
  --finish-at 14000 --time-budget "${TIME_BUDGET_MINUTES:-150}"
