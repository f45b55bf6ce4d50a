"""SGEMM C = A @ B for square n x n float32 matrices -> GFLOP/s (2 n^3 flops per product)."""

from __future__ import annotations

import torch

from common import base_parser, report, setup, time_fn


def main() -> None:
    p = base_parser(__doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048],
                   help="matrix sizes n (default 256 512 1024 2048)")
    args = p.parse_args()
    setup(args)
    rows = []
    for n in args.sizes:
        a = torch.randn(n, n)
        b = torch.randn(n, n)
        c = torch.empty(n, n)
        # out= keeps allocation out of the timed region, as the C# GEMM writes into a given buffer.
        t = time_fn(lambda: torch.mm(a, b, out=c), args.warmup, args.reps)
        flops = 2.0 * n ** 3
        rows.append({"n": n, "median_ms": t["median_s"] * 1e3, "min_ms": t["min_s"] * 1e3,
                     "gflops_median": flops / t["median_s"] / 1e9, "gflops_best": flops / t["min_s"] / 1e9})
    report("sgemm", args, rows, ["n", "median_ms", "min_ms", "gflops_median", "gflops_best"])


if __name__ == "__main__":
    main()
