#!/usr/bin/env bash
# Builds the host emulator (fake libcuda.so.1 running kernels/*.cu on the CPU, fake
# libcublas.so.12) and runs the [CudaFact] device tests against it. Needs g++ and python3,
# plus NVRTC (the backend still compiles every kernel to CUBIN first). See README.md.
#   tests/cuda-emulator/run.sh [dotnet test args...]      build, then the device tests
#   tests/cuda-emulator/run.sh --env                       build, then print the exports that point
#                                                          the backend (tests or the CLI) at it
# Environment: EMU_STRICT=1 (every check; what CI runs), EMU_LAYOUT=cu13 (a CUDA 13 machine: the
# driver reports 13.0, cuBLAS is libcublas.so.13 in a venv's nvidia/cu13/lib found through PATH),
# EMU_FILTER (the dotnet test filter), EMU_KERNELS_DIR (kernel sources, default kernels/),
# EMU_OUT (build folder, default /tmp/rawdistill-cuda-emulator); the EMU_* switches of
# fake_driver.cpp pass through.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${EMU_OUT:-/tmp/rawdistill-cuda-emulator}"
kernels="${EMU_KERNELS_DIR:-$root/kernels}"
mkdir -p "$out/lib" "$out/obj"
cp "$here/shim.h" "$here/emu.h" "$out/obj/"
python3 "$here/gen_launchers.py" "$kernels" "$out/obj/launchers.cpp" >/dev/null
flags=(-std=c++20 -O1 -g -fPIC -fno-strict-aliasing -ffp-contract=off -Wall -Wno-unused-function -I "$here" -I "$kernels")
g++ "${flags[@]}" -DEMU_MARK=emu_shared_begin -c "$here/shared_mark.cpp" -o "$out/obj/mark_begin.o"
g++ "${flags[@]}" -DEMU_MARK=emu_shared_end -c "$here/shared_mark.cpp" -o "$out/obj/mark_end.o"
objs=("$out/obj/mark_begin.o")
for cu in "$kernels"/*.cu; do
    o="$out/obj/$(basename "$cu" .cu).o"
    g++ "${flags[@]}" -include "$here/shim.h" -x c++ -c "$cu" -o "$o" &
    objs+=("$o")
done
wait
objs+=("$out/obj/mark_end.o") # the kernels' __shared__ statics lie between the marks
g++ "${flags[@]}" -c "$out/obj/launchers.cpp" -o "$out/obj/launchers.o"
g++ "${flags[@]}" -c "$here/fake_driver.cpp" -o "$out/obj/fake_driver.o"
g++ -shared -Wl,-soname,libcuda.so.1 -o "$out/lib/libcuda.so.1" "${objs[@]}" "$out/obj/launchers.o" "$out/obj/fake_driver.o" -lpthread
g++ "${flags[@]}" -shared -Wl,-soname,libcublas.so.12 -o "$out/lib/libcublas.so.12" "$here/fake_cublas.cpp" -ldl

declare -a envs=("XDG_CACHE_HOME=$out/cache" "RAWDISTILL_SYNC=${RAWDISTILL_SYNC:-1}")
if [ "${EMU_LAYOUT:-}" = cu13 ]; then
    # A CUDA 13 machine with pip-installed PyTorch: the driver (13.0) in its own folder, cuBLAS 13
    # only in an unactivated venv's nvidia/cu13/lib, found through the venv's python3 on PATH.
    mkdir -p "$out/cu13/driver" "$out/cu13/venv/bin" "$out/cu13/venv/lib/python3.12/site-packages/nvidia/cu13/lib"
    cp "$out/lib/libcuda.so.1" "$out/cu13/driver/"
    cp "$out/lib/libcublas.so.12" "$out/cu13/venv/lib/python3.12/site-packages/nvidia/cu13/lib/libcublas.so.13"
    ln -sf "$(command -v python3)" "$out/cu13/venv/bin/python3"
    envs+=("RAWDISTILL_CUDA_LIB_DIR=$out/cu13/driver" "PATH=$out/cu13/venv/bin:$PATH" "EMU_DRIVER_VERSION=${EMU_DRIVER_VERSION:-13000}" "EMU_CUBLAS_VERSION=${EMU_CUBLAS_VERSION:-130000}")
else
    envs+=("RAWDISTILL_CUDA_LIB_DIR=$out/lib")
fi
if [ "${EMU_STRICT:-0}" = 1 ]; then
    # Exact-size allocations freed at once, so the guard pages sit right after each storage.
    envs+=("EMU_STRICT=1" "RAWDISTILL_DEVICE_POOL=${RAWDISTILL_DEVICE_POOL:-off}")
fi
echo "emulator built in $out/lib (${EMU_LAYOUT:-default} layout, $([ "${EMU_STRICT:-0}" = 1 ] && echo strict || echo lenient))" >&2
if [ "${1:-}" = --env ]; then
    for e in "${envs[@]}"; do printf 'export %q\n' "$e"; done
    exit 0
fi
cd "$root"
env "${envs[@]}" dotnet test RawDistill.sln -c Release \
    --filter "${EMU_FILTER:-FullyQualifiedName~CudaDeviceTests|FullyQualifiedName~CudaAugmentTests}" "$@"
