"""Batch norm (training mode, running statistics updated) and group norm (G = C, i.e. instance
norm) forward and forward+backward on the output of ConvNet layers (shapes.py NORM_CASES:
N x Cout x H x W of the named conv case) -> ms, GB/s and img/s.

forward+backward = y = norm(x), then torch.autograd.grad(y, [x, gamma, beta], dy), as training
uses it. GB/s counts the minimum traffic, like the C# NormBenchmarks: forward 2 passes over the
tensor (read x, write y), forward+backward 5 (plus read dy and x, write dx), 4 bytes each.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from common import base_parser, report, setup, time_fn
from shapes import CONV, NORM_CASES


def main() -> None:
    p = base_parser(__doc__)
    p.add_argument("--cases", nargs="+", default=NORM_CASES, help="conv case names from shapes.py")
    args = p.parse_args()
    setup(args)
    rows = []
    for case in args.cases:
        n, _, c, hw = CONV[case]
        x = (torch.randn(n, c, hw, hw) * 2 + 0.5).requires_grad_(True)
        dy = torch.randn(n, c, hw, hw)
        gamma = (1 + 0.1 * torch.randn(c)).requires_grad_(True)
        beta = (0.1 * torch.randn(c)).requires_grad_(True)
        rm, rv = torch.zeros(c), torch.ones(c)

        def bn():
            return F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=0.1, eps=1e-5)

        def gn():
            return F.group_norm(x, c, gamma, beta, eps=1e-5)

        def fwd(f):
            def run():
                with torch.no_grad():
                    return f()
            return run

        def fwd_bwd(f):
            return lambda: torch.autograd.grad(f(), [x, gamma, beta], dy)

        numel = n * c * hw * hw
        for phase, fn, passes in [("batchnorm forward", fwd(bn), 2), ("batchnorm forward+backward", fwd_bwd(bn), 5),
                                  ("groupnorm forward", fwd(gn), 2), ("groupnorm forward+backward", fwd_bwd(gn), 5)]:
            t = time_fn(fn, args.warmup, args.reps)
            rows.append({"case": case, "shape": f"{n}x{c}x{hw}x{hw}", "phase": phase, "batch": n,
                         "median_ms": t["median_s"] * 1e3, "min_ms": t["min_s"] * 1e3,
                         "gbps_median": numel * 4 * passes / t["median_s"] / 1e9, "img_per_s": n / t["median_s"]})
    report("norm", args, rows, ["case", "shape", "phase", "median_ms", "min_ms", "gbps_median", "img_per_s"])


if __name__ == "__main__":
    main()
