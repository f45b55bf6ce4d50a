#!/usr/bin/env bash
# The commands behind krr-st-fashion-mnist-full.md, from the repository root (Release build,
# CPU backend, Debian's dataset-fashion-mnist installed). Wall times on the shared 2-core VM:
# teacher 52 min, distillation 20.5 min, evaluation 42 min (all under heavy load from other jobs).
set -euo pipefail
R="dotnet run --project src/RawDistill.Cli -c Release --"
OUT=runs/fmnist-m100
$R teacher train --data fashion-mnist --epochs 3 --out $OUT/teacher.safetensors
$R distill --data fashion-mnist -m 100 --teacher $OUT/teacher.safetensors --steps 1000 --checkpoint-every 100 --eval-seeds 0 --out $OUT
$R eval --data fashion-mnist --distilled $OUT/distilled.safetensors --teacher $OUT/teacher.safetensors --seeds 3 --epochs 300 \
    --fractions 0.01,0.1 --baselines random,kmeans,none --finetune-epochs 20 --finetune-fractions 0.01 --out $OUT/eval
