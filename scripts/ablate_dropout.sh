#!/usr/bin/env bash
# Dropout kind / rate / placement ablation (docs/training.md): each run fine-tunes the shipped default
# for STEPS steps with one dropout setting, fits its temperatures and inference MC rate on val
# (`vqseg calibrate`), then scores it with `vqseg eval --data ... --split val`. One CPU thread each,
# run one after another. Usage: scripts/ablate_dropout.sh [STEPS] [NAME:PLACEMENT:KIND:RATE ...]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-400}
shift || true
runs=("$@")
if [ ${#runs[@]} -eq 0 ]; then
  runs=(deep-channel-0.25:deep:channel:0.25 tail-channel-0.25:tail:channel:0.25
        tail-element-0.5:tail:element:0.5 head-element-0.5:head:element:0.5)
fi
data=${DATA:-../shared/datasets/camvid}
out=runs/ablate
mkdir -p "$out"
for spec in "${runs[@]}"; do
  IFS=: read -r name placement kind rate <<<"$spec"
  if [ ! -f "$out/$name.pt" ]; then
    nice -n 5 .venv/bin/vqseg train --data "$data" --mix-synthetic 0.2 --sequences 60 --frames-per-sequence 8 \
      --init models/default/vqseg_default.pt --out "$out/$name.pt" --arch bayesian_unet --width 16 \
      --dropout "$rate" --dropout-kind "$kind" --dropout-placement "$placement" --input-size 180x240 \
      --crop 160x208 --class-weights sqrt --steps "$steps" --batch 8 --lr 1e-3 --seed 0 --threads 1 \
      --eval-every "$steps" >"$out/$name.train.log" 2>&1
  fi
  if [ ! -f "$out/$name.cal.pt" ]; then
    nice -n 5 .venv/bin/vqseg calibrate --data "$data" --split val --model "$out/$name.pt" --out "$out/$name.cal.pt" \
      --modes dnn,vqdnn,vqbnn --threads 1 --no-progress >"$out/$name.cal.log" 2>&1
  fi
  if [ ! -f "$out/$name.eval/eval.json" ]; then
    nice -n 5 .venv/bin/vqseg eval --data "$data" --split val --model "$out/$name.cal.pt" --samples 8 --threads 1 \
      --no-progress --out "$out/$name.eval" >"$out/$name.eval.log" 2>&1
  fi
  echo "$(date -u +%H:%M:%S) done $name" >>"$out/progress.log"
done
