#!/usr/bin/env bash
# The next default model (issue 19, item 3), trained in pieces across sessions: run this same command
# again (from the repository root) and it continues batch for batch from models/next/vqseg_next.pt.resume.
# --time-budget stops a piece on purpose and writes the resumable state plus an intermediate checkpoint
# (meta.training.finished = false). Recipe: the shipped default's data, crops and schedule family, with
# what the issue-19 ablation recommends: MC dropout only in the tail, element-wise, trained at the rate it
# serves, plus stronger augmentation for unseen streets (zoom 0.75-1.6, blur on 30 % of crops), 3x longer.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec nice -n 19 .venv/bin/vqseg train --data ../shared/datasets/camvid --mix-synthetic 0.2 --sequences 60 \
  --frames-per-sequence 8 --out models/next/vqseg_next.pt --arch bayesian_unet --width 16 --dropout 0.2 \
  --dropout-placement tail --dropout-kind element --zoom 0.75,1.6 --blur 0.3 --input-size 180x240 \
  --crop 160x208 --class-weights sqrt --steps 21000 --batch 8 --lr 3e-3 --seed 0 --threads "${THREADS:-1}" \
  --eval-every 1000 --checkpoint-every 250 --resume --time-budget "${TIME_BUDGET_MINUTES:-150}"
