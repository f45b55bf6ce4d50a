#!/usr/bin/env bash
# Builds the host emulator (fake libcuda.so.1 running kernels/*.cu on the CPU, fake
# libcublas.so.12) and runs the [CudaFact] device tests against it. Needs g++ and python3,
# plus NVRTC (the backend still compiles every kernel to CUBIN first). See README.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${EMU_OUT:-/tmp/rawdistill-cuda-emulator}"
mkdir -p "$out/lib" "$out/obj"
python3 "$here/gen_launchers.py" "$root/kernels" "$here/launchers.cpp"
flags=(-std=c++20 -O1 -g -fPIC -fno-strict-aliasing -ffp-contract=off -Wall -Wno-unused-function -I "$here" -I "$root/kernels")
objs=()
for cu in "$root"/kernels/*.cu; do
    o="$out/obj/$(basename "$cu" .cu).o"
    g++ "${flags[@]}" -include "$here/shim.h" -x c++ -c "$cu" -o "$o"
    objs+=("$o")
done
g++ "${flags[@]}" -c "$here/launchers.cpp" -o "$out/obj/launchers.o"
g++ "${flags[@]}" -c "$here/fake_driver.cpp" -o "$out/obj/fake_driver.o"
g++ -shared -o "$out/lib/libcuda.so.1" "${objs[@]}" "$out/obj/launchers.o" "$out/obj/fake_driver.o" -lpthread
g++ "${flags[@]}" -shared -o "$out/lib/libcublas.so.12" "$here/fake_cublas.cpp"
rm -f "$here/launchers.cpp"
echo "emulator built in $out/lib"
cd "$root"
RAWDISTILL_CUDA_LIB_DIR="$out/lib" RAWDISTILL_SYNC="${RAWDISTILL_SYNC:-1}" XDG_CACHE_HOME="$out/cache" \
    dotnet test RawDistill.sln -c Release --filter "${EMU_FILTER:-FullyQualifiedName~CudaDeviceTests|FullyQualifiedName~CudaAugmentTests}" "$@"
