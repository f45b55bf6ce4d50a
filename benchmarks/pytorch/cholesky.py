"""The KRR solve in float64: Cholesky factor of an SPD m x m matrix A = K + lambda*I, then
alpha = A^-1 Y with Y of m x d (d = 512), for m = 100 ... 2000 (shapes.py) -> ms and GFLOP/s.

factor+solve = torch.linalg.cholesky + torch.cholesky_solve; factor = torch.linalg.cholesky alone.
GFLOP/s counts m^3/3 (+ 2 m^2 d for the two triangular solves), like the C# CholeskyBenchmarks.
"""

from __future__ import annotations

import torch

from common import base_parser, report, setup, time_fn
from shapes import CHOLESKY_COLUMNS, CHOLESKY_M


def main() -> None:
    p = base_parser(__doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=CHOLESKY_M, help="m values")
    args = p.parse_args()
    setup(args)
    d = CHOLESKY_COLUMNS
    rows = []
    for m in args.sizes:
        f = torch.randn(m, 2 * m, dtype=torch.float64)
        a = f @ f.T + 1e-6 * 2 * m * m * torch.eye(m, dtype=torch.float64)
        y = torch.randn(m, d, dtype=torch.float64)

        def factor_solve():
            return torch.cholesky_solve(y, torch.linalg.cholesky(a))

        for phase, fn, flops in [("factor+solve", factor_solve, m ** 3 / 3 + 2 * m * m * d),
                                 ("factor", lambda: torch.linalg.cholesky(a), m ** 3 / 3)]:
            t = time_fn(fn, args.warmup, args.reps)
            rows.append({"m": m, "d": d, "phase": phase, "median_ms": t["median_s"] * 1e3, "min_ms": t["min_s"] * 1e3,
                         "gflops_median": flops / t["median_s"] / 1e9, "gflops_best": flops / t["min_s"] / 1e9})
    report("cholesky_f64", args, rows, ["m", "d", "phase", "median_ms", "min_ms", "gflops_median", "gflops_best"])


if __name__ == "__main__":
    main()
