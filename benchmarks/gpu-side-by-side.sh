#!/usr/bin/env bash
# RawDistill (CUDA) vs PyTorch (CUDA) on one GPU machine, in one run of at most 8 minutes, for a
# machine that has no .NET and no network and is lent for minutes, where only the tail of the
# output may be seen at once (design: /work/shared/design/gpu-runs.md). It needs the published
# single-file CLI (RAWDISTILL, default .gpu/rawdistill) and a Python with CUDA PyTorch if the
# PyTorch side is wanted (found automatically; PYTHON picks one).
#   benchmarks/gpu-side-by-side.sh ROOT [CONFIGS]         CONFIGS default "fmnist cifar100"
# Everything goes to ROOT/rawdistill-gpu-<UTC time>/: machine.txt (the facts, printed first),
# one NAME.log per step, doctor.txt, selftest-f32.txt, selftest-f64.txt, rd-kernels.json,
# rd-/pt-{krr,bt}-step-CONFIG.json, ratios.md, summary.txt, and the kernel cache (cache/).
# Every step has its own timeout and is skipped once the deadline nears; a failing step is
# recorded and the run goes on. The last lines printed are the summary and, for each failed
# step, its failing lines. Exit status 1 if any step failed or was skipped.
# Tunables (seconds): DEADLINE (480), plus T_DOCTOR T_SELFTEST T_KERNELS T_STEP; REPS (5);
# QUICK=1 runs `bench kernels --quick` (small sizes: for rehearsals on the host emulator).
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
root=${1:?usage: benchmarks/gpu-side-by-side.sh ROOT [CONFIGS]}
configs=${2:-"fmnist cifar100"}
rd=${RAWDISTILL:-$repo/.gpu/rawdistill}
reps=${REPS:-5}
deadline=${DEADLINE:-480}
start=$(date +%s)
out="$root/rawdistill-gpu-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
export XDG_CACHE_HOME="$out/cache"   # the kernel cache goes with the results
results=()                            # "STATUS name seconds"

left() { echo $((deadline - ($(date +%s) - start))); }

# step NAME TIMEOUT COMMAND...: output to NAME.log (and echoed with a prefix), own timeout, skipped near the deadline.
step() {
    local name=$1 limit=$2; shift 2
    local remaining; remaining=$(left)
    if [ "$remaining" -lt 25 ]; then
        echo "== $name: SKIPPED (${remaining}s left before the ${deadline}s deadline)"
        results+=("SKIPPED $name 0"); return
    fi
    [ "$limit" -gt $((remaining - 20)) ] && limit=$((remaining - 20))
    echo "== $name (timeout ${limit}s, ${remaining}s left): $*"
    local t0; t0=$(date +%s)
    timeout --kill-after=5 "$limit" "$@" >"$out/$name.log" 2>&1
    local rc=$? dt=$(($(date +%s) - t0))
    tail -n 3 "$out/$name.log" | sed 's/^/   | /'
    if [ $rc -eq 0 ]; then results+=("ok $name $dt")
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then results+=("TIMEOUT $name $dt")
    else results+=("FAILED($rc) $name $dt"); fi
}

# ---- machine facts, first ----------------------------------------------------------------------
find_torch_python() {
    local c
    local -a cands=()
    [ -n "${PYTHON:-}" ] && cands+=("$PYTHON")
    for c in python3 python; do command -v "$c" >/dev/null 2>&1 && cands+=("$(command -v "$c")"); done
    for c in ./.venv/bin/python ~/.venv/bin/python ~/venv/bin/python ~/.pyenv/versions/*/bin/python3 \
             ~/miniconda3/bin/python ~/anaconda3/bin/python ~/miniforge3/bin/python ~/mambaforge/bin/python /opt/conda/bin/python \
             ~/miniconda3/envs/*/bin/python ~/anaconda3/envs/*/bin/python ~/miniforge3/envs/*/bin/python /opt/conda/envs/*/bin/python \
             ~/.local/share/uv/python/*/bin/python3 /usr/bin/python3 /usr/local/bin/python3; do
        [ -x "$c" ] && cands+=("$c")
    done
    for c in "${cands[@]}"; do
        if timeout 60 "$c" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" >/dev/null 2>&1; then echo "$c"; return 0; fi
    done
    return 1
}
{
    echo "date        $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "kernel      $(uname -srm)"
    echo "host        $(hostname 2>/dev/null)"
    if command -v nvidia-smi >/dev/null 2>&1; then
        echo "gpu         $(nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total,clocks.max.sm,clocks.max.mem --format=csv,noheader 2>&1 | head -1) (name, driver, compute capability, memory, max SM / memory clock)"
        echo "cuda        $(nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | head -1)"
    else
        echo "gpu         nvidia-smi not available"
    fi
    echo "ldconfig    $(ldconfig -p 2>/dev/null | grep -E 'libcuda\.so|libnvrtc\.so|libcublas\.so' | awk '{print $NF}' | tr '\n' ' ')"
    echo "rawdistill  $rd ($( [ -x "$rd" ] && du -h "$rd" | cut -f1 || echo missing))"
    echo "overrides   RAWDISTILL_CUDA_LIB_DIR=${RAWDISTILL_CUDA_LIB_DIR:-} LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
} | tee "$out/machine.txt"
py=$(find_torch_python) || py=""
if [ -n "$py" ]; then
    libs=$("$py" -c "import site, glob, os
dirs = []
for sp in site.getsitepackages() + [site.getusersitepackages()]:
    dirs += sorted(d for d in glob.glob(os.path.join(sp, 'nvidia', '*', 'lib')) if os.path.isdir(d))
print(':'.join(dirs))" 2>/dev/null)
    { echo "python      $py: $("$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))" 2>&1 | tail -1)"
      echo "nvidia libs ${libs:-none}"; } | tee -a "$out/machine.txt"
    if [ -n "$libs" ]; then
        export RAWDISTILL_CUDA_LIB_DIR="${RAWDISTILL_CUDA_LIB_DIR:+$RAWDISTILL_CUDA_LIB_DIR:}$libs"
        export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$libs"
    fi
else
    echo "python      no Python here imports torch with CUDA available: the PyTorch steps are skipped" | tee -a "$out/machine.txt"
fi

# ---- the steps ---------------------------------------------------------------------------------
export RAWDISTILL_SYNC=1
step doctor "${T_DOCTOR:-60}" "$rd" doctor
cp "$out/doctor.log" "$out/doctor.txt" 2>/dev/null
grep -E '^    (driver|nvrtc|cublas) {2,}|device 0|smoke|compile|problem' "$out/doctor.log" | head -n 12 | sed 's/^ */   doctor: /'
for dt in f32 f64; do
    step "selftest-$dt" "${T_SELFTEST:-120}" "$rd" selftest --device cuda --thorough --dtype "$dt"
    cp "$out/selftest-$dt.log" "$out/selftest-$dt.txt" 2>/dev/null
done
unset RAWDISTILL_SYNC # timings are taken with launches queued
step rd-kernels "${T_KERNELS:-120}" "$rd" bench kernels --device cuda --reps "$reps" --json "$out/rd-kernels.json" ${QUICK:+--quick}
for cfg in $configs; do
    for s in krr bt; do
        step "rd-$s-step-$cfg" "${T_STEP:-60}" "$rd" bench "$s-step" --device cuda --config "$cfg" --reps "$reps" --json "$out/rd-$s-step-$cfg.json"
        if [ -n "$py" ]; then
            step "pt-$s-step-$cfg" "${T_STEP:-60}" "$py" "benchmarks/pytorch/${s}_step.py" --device cuda --config "$cfg" --reps "$reps" --json "$out/pt-$s-step-$cfg.json"
        else
            results+=("SKIPPED pt-$s-step-$cfg 0")
        fi
    done
done
if [ -n "$py" ] || command -v python3 >/dev/null 2>&1; then
    "${py:-python3}" benchmarks/compare_steps.py "$out" >"$out/ratios.md" 2>&1 || echo "(compare_steps.py failed: see $out/ratios.md)"
fi

# ---- summary, last -------------------------------------------------------------------------------
status=0
for r in "${results[@]}"; do case ${r%% *} in ok) ;; *) status=1 ;; esac; done
{
    echo
    echo "== summary: $(head -1 "$out/machine.txt" | cut -c13-), $(grep -m1 '^gpu ' "$out/machine.txt" | cut -c13- | cut -d'(' -f1), $(( $(date +%s) - start ))s of ${deadline}s, results in $out"
    for r in "${results[@]}"; do
        set -- $r
        printf '  %-10s %-26s %4ss\n' "$1" "$2" "$3"
    done
    for r in "${results[@]}"; do
        set -- $r
        case $1 in ok|SKIPPED) continue ;; esac
        echo "-- $2 ($1), failing lines:"
        grep -E 'FAIL|STOPPED|rror|xception|\[emu\]|not available|Unhandled' "$out/$2.log" 2>/dev/null | grep -v ' pass$' | head -n 12 | cut -c1-240 | sed 's/^/   /'
        echo "   last lines:"; tail -n 4 "$out/$2.log" 2>/dev/null | cut -c1-240 | sed 's/^/   /'
    done
} | tee "$out/summary.txt"
exit $status
