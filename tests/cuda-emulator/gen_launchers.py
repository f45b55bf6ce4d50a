"""Generates launchers.cpp: for each extern "C" kernel (read from the g++ -E output of
kernels/*.cu under the shim), a function that unpacks cuLaunchKernel's void** params."""
import re, subprocess, sys
kernels_dir, out = sys.argv[1], sys.argv[2]
import glob, os
entries, decls = [], []
for cu in sorted(glob.glob(os.path.join(kernels_dir, '*.cu'))):
    pre = subprocess.run(['g++', '-std=c++17', '-E', '-P', '-include', os.path.join(os.path.dirname(out), 'shim.h'),
                          '-I', kernels_dir, '-x', 'c++', cu], capture_output=True, text=True, check=True).stdout
    for m in re.finditer(r'extern "C"\s+void\s+(\w+)\s*\(([^)]*)\)', pre):
        name, params = m.group(1), m.group(2).strip()
        if name.startswith('_') or any(e.startswith(f'    {{"{name}"') for e in entries):
            continue  # system headers pulled in by the shim
        ps = [p.strip() for p in params.split(',')] if params else []
        types = []
        for p in ps:
            t = re.sub(r'\s*\b\w+$', '', p).strip()
            types.append(t)
        decls.append(f'extern "C" void {name}({", ".join(types)});')
        decls.append(f'static const unsigned sizes_{name}[] = {{{", ".join(f"sizeof({t})" for t in types) or "0"}}};')
        args = ', '.join(f'*reinterpret_cast<{t}*>(p[{i}])' for i, t in enumerate(types))
        entries.append(f'    {{"{name}", {len(types)}, [](void** p) {{ {name}({args}); }}, sizes_{name}}},')
with open(out, 'w') as f:
    f.write('#include "shim.h"\n#include "emu.h"\n')
    f.write('typedef long long i64; typedef unsigned int u32; typedef unsigned long long u64; typedef unsigned char u8;\n')
    f.write('struct BroadcastDesc { int rank; int shape[8]; i64 aStrides[8]; i64 bStrides[8]; };\n')
    f.write('struct PermuteDesc { int rank; int outShape[8]; i64 srcStrides[8]; };\n')
    f.write('struct ConvDesc { int C, H, W, K, P, Q, R, S, sh, sw, ph, pw; };\n')
    f.write('struct PoolDesc { int N, C, H, W, P, Q, kh, kw, sh, sw, ph, pw; };\n')
    f.write('struct GroupNormDesc { int N, C, G; i64 S; double eps; };\n')
    f.write('struct CropBox { int top, left, height, width, flip; };\n')
    f.write('struct JitterParams { float brightness, contrast, saturation, hue; int order, enabled; };\n')
    f.write('\n'.join(decls) + '\n')
    f.write('const EmuKernel emu_kernels[] = {\n' + '\n'.join(entries) + '\n    {nullptr, 0, nullptr, nullptr}\n};\n')
print(f'{len(entries)} kernels')
