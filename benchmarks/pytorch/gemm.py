"""SGEMM C = A @ B in float32 -> GFLOP/s (2 m n k flops per product), for square n and for the
skinny M x N x K shapes of the convolutions' forward GEMMs (as in the C# GemmBenchmarks)."""

from __future__ import annotations

import torch

from common import base_parser, report, setup, time_fn


def main() -> None:
    p = base_parser(__doc__)
    p.add_argument("--sizes", nargs="+", default=["256", "512", "1024", "2048", "128x1024x576", "512x1024x2304", "64x1024x288"],
                   help="n (square) or MxNxK (default: the C# GemmBenchmarks shapes)")
    args = p.parse_args()
    setup(args)
    rows = []
    for shape in args.sizes:
        d = [int(v) for v in shape.split("x")]
        m, n, k = d if len(d) == 3 else d * 3
        a = torch.randn(m, k)
        b = torch.randn(k, n)
        c = torch.empty(m, n)
        # out= keeps allocation out of the timed region, as the C# GEMM writes into a given buffer.
        t = time_fn(lambda: torch.mm(a, b, out=c), args.warmup, args.reps)
        flops = 2.0 * m * n * k
        rows.append({"shape": shape, "n": n if m == n == k else None, "median_ms": t["median_s"] * 1e3, "min_ms": t["min_s"] * 1e3,
                     "gflops_median": flops / t["median_s"] / 1e9, "gflops_best": flops / t["min_s"] / 1e9})
    report("sgemm", args, rows, ["shape", "median_ms", "min_ms", "gflops_median", "gflops_best"])


if __name__ == "__main__":
    main()
