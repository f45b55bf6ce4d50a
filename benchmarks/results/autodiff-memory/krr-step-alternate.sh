#!/usr/bin/env bash
# KRR-ST outer step (fmnist config), before (75daf74, built in /work/wt-before) vs after (main)
# vs PyTorch-CPU, alternated round by round; load recorded beside every run.
set -u
D=benchmarks/results/autodiff-memory
BEFORE=/work/wt-before/src/RawDistill.Cli/bin/Release/net10.0/rawdistill.dll
AFTER=src/RawDistill.Cli/bin/Release/net10.0/rawdistill.dll
for round in 1 2; do
  for side in before after pytorch; do
    echo "=== round $round $side  $(uptime)"
    case $side in
      before)  /usr/bin/time -f "maxrss_kb %M wall_s %e" dotnet $BEFORE bench --device cpu --reps 3 krr-step ;;
      after)   /usr/bin/time -f "maxrss_kb %M wall_s %e" dotnet $AFTER bench --device cpu --reps 3 --json $D/krr-after-$round.json krr-step ;;
      pytorch) /usr/bin/time -f "maxrss_kb %M wall_s %e" /usr/bin/python3 benchmarks/pytorch/krr_step.py --device cpu --config fmnist --threads 2 --reps 3 --json $D/krr-pt-$round.json ;;
    esac
  done
done
echo "=== end $(uptime)"
