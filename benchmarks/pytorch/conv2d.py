"""Conv2d 3x3 (stride 1, pad 1, with bias) forward, backward-input and backward-weight on the
three KRR-ST ConvNet layer shapes -> img/s and GFLOP/s per phase.

Layers (batch N, default 256): 3->128 at 32x32, 128->256 at 16x16, 256->512 at 8x8.
With --cases NAME... (or --cases all) the named shapes of shapes.py run instead, each at its own
batch, as the BenchmarkDotNet ConvBenchmarks do; backward-weight then computes the weight gradient
only (RawDistill's conv weight gradient has no bias term; the bias gradient is a separate sum).
Each phase counts 2 * N * Cout * H * W * Cin * 9 flops (the multiply-adds of the convolution;
the bias add and bias gradient are not counted, they are <0.1% of the work).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from common import base_parser, report, setup, time_fn
from shapes import CONV

# (Cin, Cout, H=W) of the three conv blocks of KRR-ST's ConvNet (width 128 doubling per block).
LAYERS = [(3, 128, 32), (128, 256, 16), (256, 512, 8)]


def backward_fns(x, w, gy, bias_grad=True):
    """Returns (backward-input, backward-weight) closures using ATen's native convolution
    backward (the path autograd takes), falling back to torch.nn.grad where it is missing."""
    bias_sizes = [w.shape[0]]
    args = ([1, 1], [1, 1], [1, 1], False, [0, 0], 1)
    if hasattr(torch.ops.aten, "convolution_backward"):
        cb = torch.ops.aten.convolution_backward

        def bwd_input():
            return cb(gy, x, w, bias_sizes, *args, [True, False, False])

        def bwd_weight():
            # Weight and bias gradients together, as a training step needs both.
            return cb(gy, x, w, bias_sizes, *args, [False, True, bias_grad])

        return bwd_input, bwd_weight, "aten.convolution_backward"

    def bwd_input_fallback():
        return torch.nn.grad.conv2d_input(x.shape, w, gy, padding=1)

    def bwd_weight_fallback():
        return torch.nn.grad.conv2d_weight(x, w.shape, gy, padding=1), gy.sum((0, 2, 3))

    return bwd_input_fallback, bwd_weight_fallback, "torch.nn.grad"


def main() -> None:
    p = base_parser(__doc__)
    p.add_argument("--batch", type=int, default=256, help="batch size N (default 256)")
    p.add_argument("--cases", nargs="+", default=None,
                   help="case names from shapes.py (or 'all') instead of the three layers at --batch")
    args = p.parse_args()
    setup(args)
    if args.cases:
        names = list(CONV) if args.cases == ["all"] else args.cases
        layers = [(name,) + CONV[name] for name in names]
    else:
        layers = [(None, args.batch, cin, cout, hw) for cin, cout, hw in LAYERS]
    rows = []
    impl = ""
    with torch.no_grad():
        for case, n, cin, cout, hw in layers:
            x = torch.randn(n, cin, hw, hw)
            w = torch.randn(cout, cin, 3, 3) * (2.0 / (cin * 9)) ** 0.5
            b = torch.randn(cout)
            gy = torch.randn(n, cout, hw, hw)
            flops = 2.0 * n * cout * hw * hw * cin * 9
            bwd_in, bwd_w, impl = backward_fns(x, w, gy, bias_grad=case is None)
            phases = [
                ("forward", lambda: F.conv2d(x, w, b, stride=1, padding=1)),
                ("backward-input", bwd_in),
                ("backward-weight", bwd_w),
            ]
            for phase, fn in phases:
                t = time_fn(fn, args.warmup, args.reps)
                rows.append({
                    "case": case, "cin": cin, "cout": cout, "size": hw,
                    "layer": f"{cin}->{cout} @{hw}x{hw}", "phase": phase, "batch": n,
                    "median_ms": t["median_s"] * 1e3, "min_ms": t["min_s"] * 1e3,
                    "img_per_s": n / t["median_s"], "gflops_median": flops / t["median_s"] / 1e9,
                    "gflops_best": flops / t["min_s"] / 1e9,
                })
    report("conv2d", args, rows,
           ["case", "layer", "phase", "batch", "median_ms", "min_ms", "img_per_s", "gflops_median", "gflops_best"],
           extra={"backward_impl": impl})


if __name__ == "__main__":
    main()
