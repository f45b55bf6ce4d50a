#!/bin/bash
# Issue 12 on the t40 testbed: MKDT, 2 distillation seeds, BN ConvNet 32-64-128 student (the KRR-ST evaluation net).
cd /tmp/m12
log() { echo "$1 $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> time.txt; }
log "distill start"
/tmp/rd-m12/rawdistill distill --method mkdt --teacher /tmp/t40/teacher.safetensors --experts-dir experts \
  --widths 32,64,128 --norm batch -m 100 --syn-steps 10 --expert-epochs 2 --max-start 2 \
  --eta-init 0.3 --update normalized --lr-img 0.02 --lr-y 0.02 --lr-lr 0.01 --steps 60 --checkpoint-every 10 \
  --distill-seeds 2 --eval-seeds 0 --out mkdt-t40 > distill.log 2>&1
log "distill done rc=$?"
