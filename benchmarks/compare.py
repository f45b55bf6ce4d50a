#!/usr/bin/env python3
"""Joins RawDistill's `bench --json` output with the PyTorch scripts' JSON (same shapes,
same machine, same run) into one Markdown table of ratios. Standard library only.

    python3 benchmarks/compare.py OUTDIR      # reads OUTDIR/{rd,pt}-{gemm,conv,convnet}.json
"""
import json
import os
import sys


def load(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main(out):
    rows = []
    rd, pt = load(os.path.join(out, "rd-gemm.json")), load(os.path.join(out, "pt-gemm.json"))
    if rd and pt:
        torch_by_n = {r["n"]: r for r in pt["results"]}
        for r in rd["results"]:
            n = int(r["Shape"].split("x")[0])
            if n in torch_by_n:
                t = torch_by_n[n]["gflops_median"]
                rows.append((f"sgemm n={n}", "GFLOP/s", r["Gflops"], t))
    rd, pt = load(os.path.join(out, "rd-conv.json")), load(os.path.join(out, "pt-conv.json"))
    if rd and pt:
        # Both list the three ConvNet layers × (forward, backward-input, backward-weight) in order.
        for r, t in zip(rd["results"], pt["results"]):
            rows.append((f"conv2d {t['layer']} {t['phase']} (batch {t['batch']})", "img/s", r["ImagesPerSecond"], t["img_per_s"]))
    rd, pt = load(os.path.join(out, "rd-convnet.json")), load(os.path.join(out, "pt-convnet.json"))
    if rd and pt:
        t = next(x for x in pt["results"] if x["phase"] == "forward+backward")
        r = rd["results"][0]
        rows.append((f"ConvNet-128-256-512-BN step fwd+bwd (batch {t['batch']})", "img/s", r["ImagesPerSecond"], t["img_per_s"]))
    env = (pt or {}).get("environment", {})
    print(f"CPU: {env.get('cpu', '?')}; torch {env.get('torch', '?')} with {env.get('threads', '?')} threads; "
          f"RawDistill {rd['device'] if rd else '?'}; {env.get('date_utc', '')}")
    print()
    print("| case | unit | RawDistill | PyTorch | RawDistill / PyTorch |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name, unit, a, b in rows:
        print(f"| {name} | {unit} | {a:.1f} | {b:.1f} | {a / b:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench-out")
