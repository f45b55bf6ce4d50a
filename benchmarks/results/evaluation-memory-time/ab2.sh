#!/bin/bash
# Old (28647aa, before issue 13) vs new (36ed5a8) evaluation, same workload, order old-new-new-old.
cd /tmp/s5/full
while ! grep -q done rss-full2.time; do sleep 5; done
sleep 20
for v in old new new2 old2; do
  bin=/tmp/rd-old/rawdistill; case $v in new*) bin=/tmp/rd-bin12/rawdistill;; esac
  rm -rf eval-ab2-$v
  echo "$v start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> ab2.txt
  /usr/bin/time -v $bin eval --data fashion-mnist --distilled fmnist-m100/seed-0/distilled.safetensors --teacher T.safetensors --seeds 1 --epochs 300 --fractions 0.01,0.1 --baselines none --out eval-ab2-$v > eval-ab2-$v.log 2> eval-ab2-$v.err
  echo "$v done $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> ab2.txt
done
