#!/usr/bin/env bash
# One KRR-ST outer step (and optionally one Barlow Twins step) in RawDistill and in PyTorch, in
# one command on one machine, then the phase-by-phase ratio table (benchmarks/compare_steps.py).
#   benchmarks/steps-side-by-side.sh OUTDIR [DEVICE] [CONFIG] [STEPS]
#     DEVICE cpu (default) | cuda;  CONFIG fmnist (default) | cifar100;  STEPS "krr" (default) or "krr bt"
# On the CPU both sides use all cores (nproc: 2 on the reference machine). RawDistill comes from
# the SDK build (dotnet) unless RAWDISTILL points at a published binary.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench-out}
device=${2:-cpu}
config=${3:-fmnist}
steps=${4:-krr}
reps=${REPS:-5}
threads=$(nproc)
py=${PYTHON:-/usr/bin/python3}
mkdir -p "$out"
if [[ -n "${RAWDISTILL:-}" ]]; then rd() { "$RAWDISTILL" "$@"; }
else
    dotnet build src/RawDistill.Cli -c Release -v q -nologo >/dev/null
    rd() { dotnet src/RawDistill.Cli/bin/Release/net10.0/rawdistill.dll "$@"; }
fi
for step in $steps; do
    rd bench "$step-step" --device "$device" --config "$config" --reps "$reps" --json "$out/rd-$step-step-$config.json"
    echo
    $py "benchmarks/pytorch/${step}_step.py" --device "$device" --config "$config" --threads "$threads" --reps "$reps" \
        --json "$out/pt-$step-step-$config.json"
    echo
done
python3 benchmarks/compare_steps.py "$out" | tee "$out/ratios.md"
