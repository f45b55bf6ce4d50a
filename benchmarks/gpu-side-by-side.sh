#!/usr/bin/env bash
# RawDistill (CUDA) vs PyTorch (CUDA) on one GPU machine, in one run: what issue 7 asks for.
# Needs no .NET: it runs the published single-file CLI (default .gpu/rawdistill; publish it with
# the command in /work/shared/design/gpu-runs.md, or set RAWDISTILL=/path/to/rawdistill) and the
# machine's own python3 with PyTorch (set PYTHON to pick another interpreter).
#   benchmarks/gpu-side-by-side.sh OUTDIR [CONFIGS]        CONFIGS default "cifar100 fmnist"
# Writes OUTDIR/{doctor.txt, selftest.txt, rd-kernels.json, rd-*-step-*.json, pt-*-step-*.json,
# *.log, ratios.md}. A failing step is reported and the script goes on, so one broken piece does
# not cost the rest of a scarce GPU session; the exit status is non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: benchmarks/gpu-side-by-side.sh OUTDIR [CONFIGS]}
configs=${2:-"cifar100 fmnist"}
rd=${RAWDISTILL:-.gpu/rawdistill}
py=${PYTHON:-python3}
reps=${REPS:-10}
mkdir -p "$out"
status=0
run() { # run NAME COMMAND...: stdout+stderr to OUTDIR/NAME.log, failure noted
    local name=$1; shift
    echo "== $name: $*" | tee -a "$out/summary.log"
    if "$@" >"$out/$name.log" 2>&1; then echo "   ok" | tee -a "$out/summary.log"
    else echo "   FAILED (exit $?), see $out/$name.log" | tee -a "$out/summary.log"; status=1; fi
}
{
    date -u +"date %Y-%m-%dT%H:%M:%SZ"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1 || echo "nvidia-smi not available"
    $py -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))" 2>&1
} | tee "$out/machine.txt"
run doctor "$rd" doctor
run selftest "$rd" selftest --device cuda
run rd-kernels "$rd" bench kernels --device cuda --reps "$reps" --json "$out/rd-kernels.json"
for cfg in $configs; do
    for step in krr bt; do
        run "rd-$step-step-$cfg" "$rd" bench "$step-step" --device cuda --config "$cfg" --reps "$reps" --json "$out/rd-$step-step-$cfg.json"
        run "pt-$step-step-$cfg" $py "benchmarks/pytorch/${step}_step.py" --device cuda --config "$cfg" --reps "$reps" --json "$out/pt-$step-step-$cfg.json"
    done
done
$py benchmarks/compare_steps.py "$out" | tee "$out/ratios.md"
exit $status
