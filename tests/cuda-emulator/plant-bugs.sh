#!/usr/bin/env bash
# Scratch check of the strict emulator: plants one bug of each class it is meant to catch (in a
# scratch copy; the tree is not touched), runs the device test that exercises the planted code
# under EMU_STRICT=1, and reports whether the run failed and how. Every class must say CAUGHT.
#   tests/cuda-emulator/plant-bugs.sh [--with-csharp]      (needs what run.sh needs; the C# plants
#                                                          rebuild a scratch copy of the solution)
#   PLANTS="shared barrier" tests/cuda-emulator/plant-bugs.sh     only those classes
# Results of a run are recorded in README.md.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scratch="$(mktemp -d /tmp/rawdistill-plant.XXXXXX)"
summary=()

# plant NAME FILE OLD NEW: a copy of kernels/ with one exact replacement (fails if OLD is missing)
plant() {
    local name=$1 file=$2 old=$3 new=$4
    mkdir -p "$scratch/$name"
    cp -r "$root/kernels" "$scratch/$name/kernels"
    python3 - "$scratch/$name/kernels/$file" "$old" "$new" <<'EOF'
import sys
path, old, new = sys.argv[1:4]
s = open(path).read()
if old not in s: sys.exit(f"plant anchor not found in {path}: {old}")
open(path, 'w').write(s.replace(old, new, 1))
EOF
}

# expect NAME FILTER [KERNELS_ROOT]: strict emulator run of the tests matching FILTER; caught = it failed
expect() {
    local name=$1 filter=$2 src=${3:-$root}
    local log="$scratch/$name.log"
    if [ -n "${PLANTS:-}" ] && [[ " $PLANTS " != *" $name "* ]]; then return; fi
    echo "== $name: $filter"
    env ${EXPECT_ENV:-} EMU_STRICT=1 EMU_OUT="$scratch/$name/emu" EMU_FILTER="$filter" \
        EMU_KERNELS_DIR="$scratch/$name/kernels" RAWDISTILL_KERNELS_DIR="$scratch/$name/kernels" \
        bash "$src/tests/cuda-emulator/run.sh" --no-build >"$log" 2>&1
    local rc=$?
    local why
    why=$(grep -m1 -E '\[emu\] (FAULT|kernel|launch|allocation|divergent|barrier)|(ParityMismatchException|CudaException) :|element [0-9]+ is' "$log" | sed 's/^ *//' | cut -c1-240)
    if [ $rc -ne 0 ]; then summary+=("CAUGHT  $name: ${why:-exit $rc, see $log}"); else summary+=("MISSED  $name (the run passed; log $log)"); fi
    echo "   exit $rc: ${why:-}"
}

# 1. Thread order: each thread reads the element the previous thread wrote, with no barrier.
plant order copy.cu "dst[dstOffset + b * dstStride + j] = src[srcOffset + b * srcStride + j];" \
    "T v = src[srcOffset + b * srcStride + j]; if (j > 0 && dst[dstOffset + b * dstStride + j - 1] != src[srcOffset + b * srcStride + j - 1]) v = (T)0; dst[dstOffset + b * dstStride + j] = v;"
expect order "FullyQualifiedName~CudaDeviceTests.LayoutOpsMatchCpu"

# 2. Shared memory: the block reduction reads scratch entries no warp of this block wrote.
mkdir -p "$scratch/shared"
plant shared common.cuh "T w = lane < warps ? scratch[lane] : scratch[0];" "T w = scratch[lane];"
expect shared "FullyQualifiedName~CudaDeviceTests.ReductionsAndSoftmaxMatchCpu"

# 3. Out of bounds: the last thread of a cast writes one element past the end of its output.
plant overrun copy.cu "{ GRID_STRIDE_LOOP(i, n) y[i] = sat<TT>::from(x[i]); }" \
    "{ GRID_STRIDE_LOOP(i, n) { y[i] = sat<TT>::from(x[i]); if (i == n - 1) y[n] = y[i]; } }"
expect overrun "FullyQualifiedName~CudaDeviceTests.CastsSaturateLikeTheCpu"

# 4. Resources: launch bounds of 256 threads on a kernel the block-size sweep launches with 1024.
plant limits reduce.cu "__launch_bounds__(MAX_BLOCK) reduce_rows_##S" "__launch_bounds__(256) reduce_rows_##S"
expect limits "FullyQualifiedName~CudaDeviceTests.BlockSizeOverrideKeepsResultsAndOnlyAcceptsTheSweepSizes"

# 5. Divergent barrier: one thread of each softmax block leaves before the block reductions.
plant barrier softmax.cu "extern \"C\" __global__ void __launch_bounds__(MAX_BLOCK) softmax_f32(const float* x, float* y, int rows, int cols, int log) {" \
    "extern \"C\" __global__ void __launch_bounds__(MAX_BLOCK) softmax_f32(const float* x, float* y, int rows, int cols, int log) { if (threadIdx.x == 5) return;"
expect barrier "FullyQualifiedName~CudaDeviceTests.ReductionsAndSoftmaxMatchCpu"

if [ "${1:-}" = --with-csharp ]; then
    # 6, 7. Host-side bugs: a copy of the solution with cuBLAS left on the default stream (it then
    # races with the backend's queued kernels) and a split reduction whose scratch buffer is given
    # back before its kernels run (use after free). One rebuild, two runs.
    copy="$scratch/solution"
    mkdir -p "$copy"
    (cd "$root" && tar cf - --exclude='*/bin' --exclude='*/obj' --exclude='.git' src tests kernels benchmarks/RawDistill.Benchmarks RawDistill.sln Directory.Build.props global.json) | (cd "$copy" && tar xf -)
    python3 - "$copy/src/RawDistill.Cuda" <<'EOF'
import sys
d = sys.argv[1]
def patch(f, old, new):
    p = f"{d}/{f}"; s = open(p).read()
    if old not in s: sys.exit(f"plant anchor not found in {p}: {old}")
    open(p, 'w').write(s.replace(old, new, 1))
patch("CudaBackend.cs", "Cublas.Check(Cublas.cublasSetStream_v2(cublas, stream));", "")
patch("CudaBackend.Reduce.cs", "using var partial = Rent(x.DType, (long)outer * splits);", "var partial = Rent(x.DType, (long)outer * splits); partial.Dispose();")
EOF
    echo "== building the planted copy (C# plants)"
    (cd "$copy" && dotnet build tests/RawDistill.Tests -c Release >"$scratch/csharp-build.log" 2>&1) || echo "   build failed: $scratch/csharp-build.log"
    for name in stream uaf; do mkdir -p "$scratch/$name"; cp -r "$root/kernels" "$scratch/$name/kernels"; done
    # Without RAWDISTILL_SYNC=1: synchronizing after every launch would order the two streams
    # and hide the race, on a GPU as here.
    EXPECT_ENV="RAWDISTILL_SYNC=0" expect stream "FullyQualifiedName~CudaDeviceTests.GemmMatchesNaiveForEveryTransposePairAndBatch" "$copy"
    expect uaf "FullyQualifiedName~CudaDeviceTests.ReductionsAndSoftmaxMatchCpu" "$copy"
fi

echo
echo "planted-bug summary (scratch: $scratch)"
printf '  %s\n' "${summary[@]}"
! printf '%s\n' "${summary[@]}" | grep -q '^MISSED'
