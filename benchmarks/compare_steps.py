#!/usr/bin/env python3
"""Tables of `rawdistill bench kernels` and of `rawdistill bench krr-step|bt-step` next to the
PyTorch step scripts' JSON (same shapes, same machine, same run). Standard library only.
Written by benchmarks/gpu-side-by-side.sh and steps-side-by-side.sh (the BenchmarkDotNet
families of cpu-side-by-side.sh go through benchmarks/compare.py):

    python3 benchmarks/compare_steps.py OUTDIR   # reads OUTDIR/{rd,pt}-{krr,bt}-step-CONFIG.json, OUTDIR/rd-kernels.json

Step tables give each phase in milliseconds on both sides and PyTorch ms / RawDistill ms, so
above 1 means RawDistill is faster (the same direction as the throughput ratios).
"""
import glob
import json
import os
import sys


def load(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def kernels(out):
    rd = load(os.path.join(out, "rd-kernels.json"))
    if not rd:
        return
    print(f"## Kernels on {rd.get('device_name', rd['device'])} ({rd['device']}), median of {rd['reps']}")
    print()
    peak = rd.get("peak")
    if peak:
        def f(v, unit):
            return f"{v:.1f} {unit}" if v else "peak unknown"
        print(f"Peak used: bandwidth {f(peak.get('BandwidthGBs'), 'GB/s')}, FP32 {f(peak.get('Fp32Tflops'), 'TFLOP/s')}, "
              f"FP64 {f(peak.get('Fp64Tflops'), 'TFLOP/s')} ({peak.get('formula', '')}).")
    print(rd.get("notes", ""))
    print()
    print("| kernel | shape | block | median ms | GB/s | TFLOP/s | % of peak | validation |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rd["results"]:
        def n(v, fmt):
            return format(v, fmt) if v is not None else "-"
        pct = f"{r['PercentOfPeak']:.1f}%" if r.get("PercentOfPeak") is not None else "peak unknown"
        print(f"| {r['Kernel']} | {r['Shape']} | {r['Block'] if r['Block'] is not None else 'default'} | {r['MedianMs']:.3f} | "
              f"{n(r['GBs'], '.1f')} | {n(r['Tflops'], '.3f')} | {pct} | {r['Validation']} |")
    print()


def steps(out):
    for rd_path in sorted(glob.glob(os.path.join(out, "rd-*-step-*.json"))):
        pt_path = os.path.join(out, "pt-" + os.path.basename(rd_path)[3:])
        rd, pt = load(rd_path), load(pt_path)
        if not rd or not pt:
            continue
        env = pt.get("environment", {})
        where = env.get("gpu") or env.get("cpu", "?")
        print(f"## {rd['bench']} --config {rd['config']}: RawDistill {rd['device']} vs torch {env.get('torch', '?')} "
              f"{pt['device']} on {where}, {env.get('threads', '?')} threads, {env.get('date_utc', '')}")
        print()
        print("Shapes: " + ", ".join(f"{k} {v}" for k, v in rd["shapes"].items()))
        print()
        print("| phase | RawDistill ms | PyTorch ms | PyTorch / RawDistill |")
        print("| --- | ---: | ---: | ---: |")
        tp = {p["phase"]: p["median_ms"] for p in pt["phases"]}

        def row(name, a, b):
            ratio = f"{b / a:.2f}" if a and b else "-"
            b_s = f"{b:.2f}" if b is not None else "-"
            print(f"| {name} | {a:.2f} | {b_s} | {ratio} |")

        for p in rd["phases"]:
            row(p["phase"], p["median_ms"], tp.get(p["phase"]))
        row("sum of phases", rd["phase_sum_ms"], pt["phase_sum_ms"])
        row("**step, instrumented** (sync at each phase)", rd["instrumented_total_ms"], pt["instrumented_total_ms"])
        row("**step, uninstrumented**", rd["total_ms"], pt["total_ms"])
        for a, b in zip(rd.get("extra", []), pt.get("extra", [])):
            row(a["phase"], a["median_ms"], b["median_ms"])
        print()


def main(out):
    kernels(out)
    steps(out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench-out")
