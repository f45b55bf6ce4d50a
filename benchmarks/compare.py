#!/usr/bin/env python3
"""Joins the BenchmarkDotNet JSON reports (RawDistill, and OpenBLAS SGEMM) with the PyTorch
scripts' JSON (same shapes, same machine, same run) into one Markdown table of ratios.
Standard library only. Written by benchmarks/cpu-side-by-side.sh; rerun on its output folder:

    python3 benchmarks/compare.py OUTDIR      # reads OUTDIR/bdn-*/results/*.json, OUTDIR/pt-*.json

ratio = reference median time / RawDistill median time: > 1 means RawDistill is faster.
Every value is a median (BenchmarkDotNet: of its iterations; PyTorch: of --reps runs).
"""
import glob
import json
import os
import sys

# Goals of issue 7 (CPU): (family, case predicate) -> minimum ratio.
GEMM_GOAL = 0.95   # SGEMM at n = 1024, 2048 >= 0.95x OpenBLAS on its native kernels (issue 15)
KRR_GOAL = 1.3     # KRR outer step >= 1.3x faster than PyTorch-CPU at the FMNIST config
MKDT_GOAL = 1.0    # MKDT inner step at its reference shape >= 1.0x PyTorch-CPU
CONV_GOAL = 1.0    # conv2d at every listed shape and direction >= 1.0x PyTorch-CPU
CHOLESKY_GOAL = 0.9  # f64 Cholesky factor at m = 1000, 2000 >= 0.9x dpotrf (PyTorch's LAPACK: OpenBLAS, native kernels)

KRR_PHASES = {  # C# method -> phase name of krr_outer.py
    "OuterStep": "outer step", "EmbedReal": "embed real (no grad)", "EmbedSynthetic": "embed synthetic (recorded)",
    "KrrLossAndGrad": "KRR loss + grad (from features)", "OuterGradients": "outer gradients", "PoolTrainStep": "pool train step",
}


def load(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def bdn(out, family):
    """BenchmarkDotNet cases of a family: list of (method, title, {param: value}, median ns)."""
    cases = []
    for path in sorted(glob.glob(os.path.join(out, f"bdn-{family}", "results", "*.json"))):
        for b in load(path).get("Benchmarks", []):
            stats = b.get("Statistics")
            if not stats:
                continue  # a case that failed
            params = {}
            for kv in (b.get("Parameters") or "").split("&"):
                if "=" in kv:
                    k, v = kv.split("=", 1)
                    params[k] = v.strip('"')
            cases.append((b["Method"], b.get("MethodTitle", b["Method"]), params, stats["Median"]))
    return cases


def host(out):
    for path in glob.glob(os.path.join(out, "bdn-*", "results", "*.json")):
        h = load(path).get("HostEnvironmentInfo", {})
        return f"{h.get('ProcessorName', '?')}, {h.get('RuntimeVersion', '?')}"
    return "?"


def goal_text(ratio, goal):
    if ratio >= goal:
        return f"≥ {goal}: met"
    return f"≥ {goal}: **missed by {(1 - ratio / goal) * 100:.0f}%**"


def openblas_core(out):
    """The kernel family the OpenBLAS reference ran, as GemmBenchmarks printed it into its log."""
    for log in ("bdn-gemm-openblas.log", "bdn-gemm.log"):
        path = os.path.join(out, log)
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.startswith("// OpenBLAS core:"):
                        return line.split(":", 1)[1].split(";")[0].strip() + " kernels"
    return "kernels not reported"


def main(out):
    blas_core = openblas_core(out)
    rows = []  # (case, unit, ours, theirs, against, ratio, goal)

    def add(case, unit, ours, theirs, against, t_ours, t_theirs, goal=None):
        r = t_theirs / t_ours
        rows.append((case, unit, ours, theirs, against, r, goal_text(r, goal) if goal else ""))

    # GEMM: RawDistill and OpenBLAS from BenchmarkDotNet (OpenBLAS in a run of its own, bdn-gemm-openblas,
    # on its native kernels), PyTorch from gemm.py. Shapes are "n" or "MxNxK".
    g = bdn(out, "gemm") + bdn(out, "gemm-openblas")
    pt = load(os.path.join(out, "pt-gemm.json"))
    ours = {p["Shape"]: t for m, _, p, t in g if m == "RawDistillSgemm"}
    blas = {p["Shape"]: t for m, _, p, t in g if m == "OpenBlasSgemm"}
    torch_gemm = {r.get("shape", str(r.get("n"))): r for r in pt["results"]} if pt else {}

    def dims(shape):
        d = [int(v) for v in shape.split("x")]
        return d if len(d) == 3 else d * 3

    for shape in sorted(ours, key=lambda s: (len(s.split("x")), dims(s))):
        m_, n_, k_ = dims(shape)
        fl = 2.0 * m_ * n_ * k_
        label = f"sgemm n={shape}" if "x" not in shape else f"sgemm {shape.replace('x', '×')}"
        if shape in blas:
            goal = GEMM_GOAL if shape in ("1024", "2048") else None
            add(label, "GFLOP/s", fl / ours[shape], fl / blas[shape], f"OpenBLAS ({blas_core})", ours[shape], blas[shape], goal)
        if shape in torch_gemm:
            tt = torch_gemm[shape]["median_ms"] * 1e6
            add(label, "GFLOP/s", fl / ours[shape], fl / tt, "PyTorch", ours[shape], tt)

    # conv2d: join on (case, phase); version 3 (the default) against PyTorch, and version 3
    # against version 2 (Version=2: im2col written out) of the same run in a table of its own.
    pt = load(os.path.join(out, "pt-conv.json"))
    conv = bdn(out, "conv")
    v1 = {(p.get("Case"), title): t for m, title, p, t in conv if p.get("Version") == "2"}
    versions = []
    if pt:
        ref = {(r["case"], r["phase"]): r for r in pt["results"]}
        for m, title, p, t in conv:
            if p.get("Version", "3") != "3":
                continue
            r = ref.get((p.get("Case"), title))
            if r and (p.get("Case"), title) in v1:
                fl = 2.0 * r["batch"] * r["cout"] * r["size"] ** 2 * r["cin"] * 9
                versions.append((f"conv2d {p['Case']} {r['layer']} b{r['batch']} {title}", fl / v1[(p.get("Case"), title)], fl / t))
            if r:
                fl = 2.0 * r["batch"] * r["cout"] * r["size"] ** 2 * r["cin"] * 9
                tt = r["median_ms"] * 1e6
                add(f"conv2d {p['Case']} {r['layer']} b{r['batch']} {title}", "GFLOP/s", fl / t, fl / tt, "PyTorch", t, tt, CONV_GOAL)

    # batch / group norm: join on (case, phase).
    pt = load(os.path.join(out, "pt-norm.json"))
    if pt:
        ref = {(r["case"], r["phase"]): r for r in pt["results"]}
        for m, title, p, t in bdn(out, "norm"):
            r = ref.get((p.get("Case"), title))
            if r:
                numel = 1
                for s in r["shape"].split("x"):
                    numel *= int(s)
                by = numel * 4 * (5 if "backward" in title else 2)
                tt = r["median_ms"] * 1e6
                add(f"{title} {p['Case']} {r['shape']}", "GB/s", by / t, by / tt, "PyTorch", t, tt)

    # Cholesky f64: join on (m, phase).
    pt = load(os.path.join(out, "pt-cholesky.json"))
    if pt:
        ref = {(r["m"], r["phase"]): r for r in pt["results"]}
        for m, title, p, t in bdn(out, "cholesky"):
            r = ref.get((int(p["M"]), title))
            if r:
                mm = int(p["M"])
                fl = mm ** 3 / 3 + (2 * mm * mm * r["d"] if "solve" in title else 0)
                tt = r["median_ms"] * 1e6
                goal = CHOLESKY_GOAL if mm in (1000, 2000) and "solve" not in title else None
                add(f"cholesky f64 m={mm} {title}" + (f" (d={r['d']})" if "solve" in title else ""), "GFLOP/s", fl / t, fl / tt, "PyTorch", t, tt, goal)

    # KRR outer step and its phases: join on (config, phase); ms, plus the derived ConvNet backward.
    pt = load(os.path.join(out, "pt-krr.json"))
    if pt:
        ref = {(r["config"], r["phase"]): r for r in pt["results"]}
        by_config = {}
        for m, title, p, t in bdn(out, "krr"):
            by_config.setdefault(p["Config"], {})[KRR_PHASES.get(m, title)] = t
        for config, phases in by_config.items():
            first = next(iter(r for (c, _), r in ref.items() if c == config), None)
            if first is None:
                continue
            desc = f"m={first['m']} B={first['B']} {first['widths']} {first['input']} d={first['d']}"
            for phase in KRR_PHASES.values():
                if phase in phases and (config, phase) in ref:
                    t, tt = phases[phase], ref[(config, phase)]["median_ms"] * 1e6
                    goal = KRR_GOAL if (config, phase) == ("fmnist", "outer step") else None
                    add(f"KRR {config} ({desc}) {phase}", "ms", t / 1e6, tt / 1e6, "PyTorch", t, tt, goal)
            old = {}
            for m2, title2, p2, t2 in bdn(out, "krr-v2"):
                if p2["Config"] == config:
                    old[KRR_PHASES.get(m2, title2)] = t2
            for phase in KRR_PHASES.values():
                if phase in old and phase in phases:
                    versions.append((f"KRR {config} {phase} (steps/s)", 1e9 / old[phase], 1e9 / phases[phase]))
            parts = ["outer gradients", "embed real (no grad)", "embed synthetic (recorded)", "KRR loss + grad (from features)"]
            if all(x in phases and (config, x) in ref for x in parts):
                t = phases[parts[0]] - sum(phases[x] for x in parts[1:])
                tt = (ref[(config, parts[0])]["median_ms"] - sum(ref[(config, x)]["median_ms"] for x in parts[1:])) * 1e6
                if t > 0 and tt > 0:
                    add(f"KRR {config} ConvNet backward to X_s (derived: outer gradients − the 3 phases above)", "ms",
                        t / 1e6, tt / 1e6, "PyTorch", t, tt)

    # MKDT inner step at the reference shape: `rawdistill bench mkdt-step` and mkdt_step.py, rows in
    # the same order (recorded step; recorded step + its VJP), medians in ms.
    rd, pt = load(os.path.join(out, "rd-mkdt.json")), load(os.path.join(out, "pt-mkdt.json"))
    if rd and pt:
        names = ["recorded inner step (forward + createGraph ∇θ)", "recorded step + its VJP to θ, X, Y, η"]
        for name, a, b in zip(names, rd["rows"][:2], pt["rows"][:2]):
            goal = MKDT_GOAL if name == names[0] else None
            add(f"MKDT reference ({rd['shapes']['Width']}×{rd['shapes']['Depth']} IN, m={rd['shapes']['Images']}, batch {rd['shapes']['Batch']}) {name}",
                "ms", a["ms"], b["ms"], "PyTorch", a["ms"], b["ms"], goal)

    env = {}
    for name in ("krr", "conv", "norm", "cholesky", "gemm"):
        d = load(os.path.join(out, f"pt-{name}.json"))
        if d:
            env = d["environment"]
            break
    run = ""
    if os.path.exists(os.path.join(out, "run.txt")):
        with open(os.path.join(out, "run.txt"), encoding="utf-8") as f:
            run = " ".join(line.strip() for line in f) + "; "
    print(f"{run}CPU: {host(out)}; torch {env.get('torch', '?')} with {env.get('threads', '?')} threads, "
          f"its BLAS/LAPACK on OpenBLAS {env.get('openblas_core', '?')} kernels; OpenBLAS SGEMM reference: {blas_core}")
    print()
    print("| case | unit | RawDistill | reference | against | ratio (>1: RawDistill faster) | goal |")
    print("| --- | --- | ---: | ---: | --- | ---: | --- |")
    for case, unit, a, b, against, r, goal in rows:
        print(f"| {case} | {unit} | {a:.1f} | {b:.1f} | {against} | {r:.2f} | {goal} |")
    if versions:
        print()
        print("conv2d version 3 (operand packed from the images) against version 2 (im2col written out), same run:")
        print()
        print("| case | version 2 | version 3 | speed-up |")
        print("| --- | ---: | ---: | ---: |")
        for case, a, b in versions:
            print(f"| {case} | {a:.2f} | {b:.2f} | {b / a:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench-out")
