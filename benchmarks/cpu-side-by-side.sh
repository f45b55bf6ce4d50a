#!/usr/bin/env bash
# RawDistill vs OpenBLAS vs PyTorch-CPU on the same shapes, in one run on one machine, then one
# table of ratios (RawDistill time ÷ … inverted: ratio > 1 = RawDistill is faster).
#   benchmarks/cpu-side-by-side.sh [OUTDIR] [FAMILY...]
# FAMILY: gemm conv norm cholesky krr krr-v1 (default: all, in that order). krr-v1 reruns the
# C# KRR benchmarks with conv2d version 1 (one image per GEMM) for a before/after table; the
# conv family measures both conv versions itself (ImagesPerGemm = auto | 1). Per family the
# BenchmarkDotNet class (RawDistill; then GemmBenchmarks' OpenBLAS SGEMM as a run of its own) runs first, then
# the PyTorch script on the same shapes (benchmarks/pytorch/shapes.py), so both halves of a row
# see about the same machine load. Writes OUTDIR/ratios.md (also printed) plus every raw JSON.
# Needs Debian's python3-torch and libopenblas0 (`apt-get install python3-torch libopenblas0`).
# OpenBLAS's own kernels: this machine's environment sets OPENBLAS_CORETYPE=Haswell and
# OPENBLAS_L2_SIZE, which pin OpenBLAS to its AVX2 kernels. Every reference command (the OpenBLAS
# half of GemmBenchmarks, run as a BenchmarkDotNet run of its own, and every PyTorch script, whose
# BLAS/LAPACK calls, e.g. dpotrf, go to OpenBLAS) runs with both variables unset (`ref`), so
# OpenBLAS picks the kernels it would pick for this CPU (AVX-512 here); RawDistill's commands,
# tests and CI keep the environment as it is. The kernel family each reference ran is recorded:
# OpenBLAS's openblas_get_corename, in run.txt and in the ratio table.
# Both sides use 2 threads (CpuGemm.MaxThreads / openblas_set_num_threads / torch.set_num_threads);
# the CPU backend's other kernels use Parallel.For over all cores (2 on the reference machine).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-bench-out}")
shift || true
families=("$@")
[ ${#families[@]} -eq 0 ] && families=(gemm conv norm cholesky krr krr-v2 mkdt)
threads=2
py=/usr/bin/python3   # Debian's interpreter: the one python3-torch installs into
mkdir -p "$out"
dotnet build benchmarks/RawDistill.Benchmarks -c Release -v q -nologo >/dev/null
dotnet build src/RawDistill.Cli -c Release -v q -nologo >/dev/null   # the mkdt family's `rawdistill bench mkdt-step`
ref() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; }
bdn() {
  # bdn [--ref] CLASS[.METHOD] NAME; --ref: a reference (OpenBLAS) run, on its native kernels.
  local pre=()
  if [ "$1" = --ref ]; then pre=(ref); shift; fi
  # In-process jobs (BenchJobs): no per-run rebuild of the project (a minute on 2 loaded cores).
  RAWDISTILL_BENCH_INPROCESS=1 "${pre[@]}" dotnet benchmarks/RawDistill.Benchmarks/bin/Release/net10.0/RawDistill.Benchmarks.dll \
    --filter "*.$1*" --exporters json --artifacts "$out/bdn-$2" >"$out/bdn-$2.log" 2>&1 \
    || { echo "BenchmarkDotNet $1 failed, see $out/bdn-$2.log" >&2; exit 1; }
  grep -m1 '^// OpenBLAS core:' "$out/bdn-$2.log" | sed "s|^|$2: |" | tee -a "$out/run.txt" || true
  grep -A100 '^| Method' "$out/bdn-$2.log" | sed '/^$/q'
}
pt() {
  (cd benchmarks/pytorch && ref $py "$@" --threads "$threads")
  # The OpenBLAS kernels torch's BLAS/LAPACK calls ran on (common.py records them in the JSON).
  local j; j=$(printf '%s\n' "$@" | grep -m1 '\.json$' || true)
  [ -n "$j" ] && $py -c "import json,sys; e=json.load(open(sys.argv[1]))['environment']; print(sys.argv[2] + ': OpenBLAS core ' + e.get('openblas_core', '?') + ' (PyTorch)')" "$j" "$(basename "$j" .json)" | tee -a "$out/run.txt" || true
}
{ echo "start $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)"; } >"$out/run.txt"
for f in "${families[@]}"; do
  echo "== $f ($(date -u +%T), load $(cut -d' ' -f1 /proc/loadavg))"
  case $f in
    gemm)     bdn GemmBenchmarks.RawDistillSgemm gemm; bdn --ref GemmBenchmarks.OpenBlasSgemm gemm-openblas
              pt gemm.py --reps 10 --json "$out/pt-gemm.json" ;;
    conv)     bdn ConvBenchmarks conv;         pt conv2d.py --cases all --reps 7 --json "$out/pt-conv.json" ;;
    norm)     bdn NormBenchmarks norm;         pt norm.py --reps 7 --json "$out/pt-norm.json" ;;
    cholesky) bdn CholeskyBenchmarks cholesky; pt cholesky.py --reps 7 --json "$out/pt-cholesky.json" ;;
    krr)      bdn KrrOuterStepBenchmarks krr;  pt krr_outer.py --warmup 1 --reps 5 --json "$out/pt-krr.json" ;;
    krr-v2)   RAWDISTILL_BENCH_CONV_VERSION=2 bdn KrrOuterStepBenchmarks krr-v2 ;;
    mkdt)     dotnet src/RawDistill.Cli/bin/Release/net10.0/rawdistill.dll bench --device cpu --config reference --reps 3 --unroll 0 \
                --json "$out/rd-mkdt.json" mkdt-step >"$out/rd-mkdt.log" 2>&1 || { echo "rawdistill bench mkdt-step failed, see $out/rd-mkdt.log" >&2; exit 1; }
              grep '^|' "$out/rd-mkdt.log" || true
              pt mkdt_step.py --reps 3 --unroll 0 --json "$out/pt-mkdt.json" ;;
    *) echo "unknown family $f" >&2; exit 2 ;;
  esac
done
echo "end $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/run.txt"
echo
python3 benchmarks/compare.py "$out" | tee "$out/ratios.md"
