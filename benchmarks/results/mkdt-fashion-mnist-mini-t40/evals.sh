#!/bin/bash
# Issue 12's table on the t40 testbed: MKDT and KRR-ST sets (2 distillation seeds each) under both
# evaluation protocols, 3 evaluation seeds per set (seed blocks: set i on seeds 3i..3i+2), the same
# seeds for both methods so every row pairs with every other by seed.
cd /tmp/m12
RD=/tmp/rd-m12/rawdistill
T=/tmp/t40/teacher.safetensors
MK=mkdt-t40/seed-0/distilled.safetensors,mkdt-t40/seed-1/distilled.safetensors
KR=/tmp/krr-t40/distilled.safetensors,/tmp/s5/krr-t40-s1/distilled.safetensors
log() { echo "$1 $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> time.txt; }
while ! grep -q "distill done" time.txt; do sleep 10; done
log "E1 mkdt sets, krr-st protocol"
$RD eval --distilled $MK --teacher $T --seeds 3 --fractions 0.01,0.1 --protocol krr-st --epochs 100 --baselines random-kd,init,kmeans,none,teacher --out eval-mkdt-krrst > eval-mkdt-krrst.log 2>&1
log "E2 krr-st sets, krr-st protocol"
$RD eval --distilled $KR --teacher $T --seeds 3 --fractions 0.01,0.1 --protocol krr-st --epochs 100 --baselines random-kd --out eval-krrst-krrst > eval-krrst-krrst.log 2>&1
log "E3 mkdt sets, mkdt protocol"
$RD eval --distilled $MK --teacher $T --seeds 3 --fractions 0.01,0.1 --protocol mkdt --baselines random-kd,init,kmeans,none,teacher --out eval-mkdt-mkdt > eval-mkdt-mkdt.log 2>&1
log "E4 krr-st sets, mkdt protocol"
$RD eval --distilled $KR --teacher $T --seeds 3 --fractions 0.01,0.1 --protocol mkdt --baselines random-kd --out eval-krrst-mkdt > eval-krrst-mkdt.log 2>&1
log "evals done"
