"""One training step of KRR-ST's ConvNet on 32x32x3 images -> img/s.

Model: 3 blocks of [conv3x3 pad 1 with bias -> BatchNorm2d -> ReLU -> AvgPool2d(2)] with widths
128, 256, 512, then flatten (512*4*4 = 8192) and Linear(8192 -> 512). Loss: MSE to random
512-d targets. A step is forward + backward computing both the input gradient (as KRR-ST needs
for the distilled images) and all weight gradients. BatchNorm runs in training mode.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import base_parser, report, setup, time_fn


def convnet() -> nn.Sequential:
    layers = []
    cin = 3
    for cout in (128, 256, 512):
        layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=True), nn.BatchNorm2d(cout),
                   nn.ReLU(inplace=True), nn.AvgPool2d(2)]
        cin = cout
    layers += [nn.Flatten(), nn.Linear(512 * 4 * 4, 512)]
    return nn.Sequential(*layers)


def main() -> None:
    p = base_parser(__doc__)
    p.add_argument("--batch", type=int, default=256, help="batch size (default 256)")
    args = p.parse_args()
    setup(args)
    n = args.batch
    model = convnet().train()
    x = torch.randn(n, 3, 32, 32, requires_grad=True)
    target = torch.randn(n, 512)
    params = list(model.parameters())

    def step():
        # Gradients are dropped (not zeroed) each step, as optimizer.zero_grad(set_to_none=True) does.
        x.grad = None
        for q in params:
            q.grad = None
        loss = F.mse_loss(model(x), target)
        loss.backward()
        return loss

    def forward_only():
        with torch.no_grad():
            return model(x)

    rows = []
    for name, fn in (("forward+backward", step), ("forward (no grad)", forward_only)):
        t = time_fn(fn, args.warmup, args.reps)
        rows.append({"phase": name, "batch": n, "median_ms": t["median_s"] * 1e3, "min_ms": t["min_s"] * 1e3,
                     "img_per_s": n / t["median_s"], "img_per_s_best": n / t["min_s"]})
    report("convnet_step", args, rows, ["phase", "batch", "median_ms", "min_ms", "img_per_s", "img_per_s_best"],
           extra={"params": sum(q.numel() for q in params)})


if __name__ == "__main__":
    main()
