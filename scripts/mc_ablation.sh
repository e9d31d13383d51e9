#!/usr/bin/env bash
# Inference-time MC ablation of one checkpoint (docs/training.md): the same weights sampled with the
# dropout in other places / of another kind, each with its MC rate and temperature fitted on val by
# `vqseg calibrate` (vqbnn with M samples per frame). One CPU thread. Usage:
#   scripts/mc_ablation.sh MODEL.pt OUTDIR [PLACEMENT:KIND:M ...]
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1; out=$2; shift 2
specs=("$@")
if [ ${#specs[@]} -eq 0 ]; then
  specs=(deep:channel:1 tail:channel:1 tail:element:1 head:element:1 tail:element:4 head:element:8)
fi
data=${DATA:-../shared/datasets/camvid}
rates=${RATES:-0.05,0.1,0.2,0.3,0.5}
mkdir -p "$out"
for spec in "${specs[@]}"; do
  IFS=: read -r placement kind m <<<"$spec"
  name="$placement-$kind-m$m"
  [ -f "$out/$name.variant.pt" ] || .venv/bin/python scripts/dropout_variant.py "$model" "$out/$name.variant.pt" \
    --placement "$placement" --kind "$kind" >/dev/null
  [ -f "$out/$name.cal.json" ] || nice -n 5 .venv/bin/vqseg calibrate --data "$data" --split val \
    --model "$out/$name.variant.pt" --out "$out/$name.cal.pt" --json "$out/$name.cal.json" \
    --markdown "$out/$name.cal.md" --modes dnn,vqdnn,vqbnn --rates "$rates" --vqbnn-samples "$m" \
    --threads 1 --no-progress >"$out/$name.cal.log" 2>&1
  echo "$(date -u +%H:%M:%S) done $name" >>"$out/progress.log"
done
