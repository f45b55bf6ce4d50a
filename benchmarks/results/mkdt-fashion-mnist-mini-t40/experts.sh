#!/bin/bash
# Issue 12 on the t40 testbed: MKDT experts with the KRR-ST evaluation ConvNet (32-64-128, batch norm).
cd /tmp/m12
log() { echo "$1 $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> time.txt; }
log "experts start"
/tmp/rd-m12/rawdistill experts train --teacher /tmp/t40/teacher.safetensors --out experts --experts 4 --epochs 3 --widths 32,64,128 --norm batch > experts.log 2>&1
log "experts done rc=$?"
