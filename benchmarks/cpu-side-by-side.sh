#!/usr/bin/env bash
# RawDistill vs PyTorch-CPU on the same shapes, in one run on one machine, then one table
# of ratios. Needs Debian's python3-torch (`apt-get install python3-torch`); PyTorch runs
# with as many threads as RawDistill uses (all cores, 2 on the reference machine).
#   benchmarks/cpu-side-by-side.sh [OUTDIR] [BATCH]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench-out}
batch=${2:-64}
threads=$(nproc)
py=/usr/bin/python3   # Debian's interpreter: the one python3-torch installs into
mkdir -p "$out"
dotnet build src/RawDistill.Cli -c Release -v q -nologo >/dev/null
rd() { dotnet src/RawDistill.Cli/bin/Release/net10.0/rawdistill.dll bench "$@"; }
rd gemm --device cpu --size 256,512,1024,2048 --reps 5 --json "$out/rd-gemm.json"
$py benchmarks/pytorch/gemm.py --threads "$threads" --reps 5 --json "$out/pt-gemm.json"
rd conv --device cpu --batch "$batch" --reps 5 --json "$out/rd-conv.json"
$py benchmarks/pytorch/conv2d.py --threads "$threads" --batch "$batch" --reps 5 --json "$out/pt-conv.json"
rd convnet --device cpu --batch "$batch" --reps 3 --json "$out/rd-convnet.json"
$py benchmarks/pytorch/convnet_step.py --threads "$threads" --batch "$batch" --reps 3 --json "$out/pt-convnet.json"
echo
python3 benchmarks/compare.py "$out" | tee "$out/ratios.md"
