"""The KRR-ST outer step (design page krr-st.md) and its phases in PyTorch, on the configs of the
C# KrrOuterStepBenchmarks (shapes.py KRR: "fmnist" = the CPU default, "reference" = CIFAR-100)
-> ms per phase. The math is tests/pytorch/make_krr_fixtures.py's (which the C# KRR step is
checked against), in float32 with the Cholesky solve in float64 as RawDistill does it.

Phases (names shared with the C# benchmark methods):
  outer step                       the whole step: F_r, F_s, loss, gradients to (X_s, Y_s),
                                   AdamW, the pool member's training step
  embed real (no grad)             F_r = embed(norm(X_r)), B images, eval mode
  embed synthetic (recorded)       F_s = embed(norm(X_s)), m images, graph recorded
  KRR loss + grad (from features)  Gram matrices, Cholesky f64, solves, gradients to F_s and Y_s
  outer gradients                  F_r + F_s + loss + torch.autograd.grad(L, [X_s, Y_s])
  pool train step                  MSE(head(embed(norm(X_s))), Y_s), train mode, all weight
                                   gradients, SGD (momentum 0.9, weight decay 1e-3)
One pool member (the step's cost does not depend on the pool size); it has taken one training
step before timing starts. Real images and targets are random (the cost does not depend on them).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from common import base_parser, report, setup, time_fn
from shapes import KRR, KRR_COMMON

MEAN, STD = 0.5, 0.25

PHASES = ["outer step", "embed real (no grad)", "embed synthetic (recorded)",
          "KRR loss + grad (from features)", "outer gradients", "pool train step"]


def convnet(widths, channels, size, d):
    """make_krr_fixtures.py's ConvNet: [conv3x3 pad 1 + bias, BatchNorm2d, ReLU, AvgPool2d(2)] per width."""
    layers, c = [], channels
    for w in widths:
        layers += [nn.Conv2d(c, w, 3, 1, 1, bias=True), nn.BatchNorm2d(w), nn.ReLU(), nn.AvgPool2d(2)]
        c = w
    s = size
    for _ in widths:
        s //= 2
    return nn.Sequential(*layers), nn.Linear(c * s * s, d)


def with_bias_feature(f):
    return torch.cat([f, torch.ones(f.shape[0], 1, dtype=f.dtype)], 1)


def krr_loss(fs, fr, ys, yr, ridge):
    """KrrOuterLoss.Compute: K in float32, the ridge solve in float64, the prediction in float32."""
    fsb, frb = with_bias_feature(fs), with_bias_feature(fr)
    kss = fsb @ fsb.T
    krs = frb @ fsb.T
    k64 = kss.double()
    lam = ridge * torch.trace(k64).detach()
    a = k64 + lam * torch.eye(k64.shape[0], dtype=torch.float64)
    alpha = torch.cholesky_solve(ys.double(), torch.linalg.cholesky(a)).float()
    return ((krs @ alpha - yr) ** 2).mean()


def run_config(name, args):
    cfg = dict(KRR[name], **KRR_COMMON)
    m, b, d, c, s = cfg["m"], cfg["B"], cfg["d"], cfg["channels"], cfg["size"]
    features, head = convnet(cfg["widths"], c, s, d)
    params = list(features.parameters()) + list(head.parameters())
    sgd = torch.optim.SGD(params, lr=cfg["pool_lr"], momentum=cfg["pool_momentum"], weight_decay=cfg["pool_weight_decay"])
    xs = torch.rand(m, c, s, s).requires_grad_(True)
    ys = torch.randn(m, d).requires_grad_(True)
    adam = torch.optim.AdamW([xs, ys], lr=cfg["lr"], eps=cfg["adam_eps"], weight_decay=0)
    xr = torch.rand(b, c, s, s)
    yr = torch.randn(b, d)

    def norm(x):
        return (x - MEAN) / STD

    def embed(x):
        return features(norm(x)).flatten(1)

    def pool_train_step():
        features.train()
        loss = ((head(embed(xs.detach())) - ys.detach()) ** 2).mean()
        sgd.zero_grad(set_to_none=True)
        loss.backward()
        sgd.step()

    def embed_real():
        features.eval()
        with torch.no_grad():
            return embed(xr)

    def embed_synthetic():
        features.eval()
        return embed(xs)

    def outer_gradients():
        fr = embed_real()
        fs = embed_synthetic()
        loss = krr_loss(fs, fr, ys, yr, cfg["ridge"])
        gx, gy = torch.autograd.grad(loss, [xs, ys])
        return loss.item(), gx, gy

    def outer_step():
        _, gx, gy = outer_gradients()
        xs.grad, ys.grad = gx, gy
        adam.step()
        pool_train_step()

    with torch.no_grad():
        fs_leaf = embed_synthetic().detach().requires_grad_(True)
        fr_fixed = embed_real()

    def krr_loss_and_grad():
        loss = krr_loss(fs_leaf, fr_fixed, ys, yr, cfg["ridge"])
        return torch.autograd.grad(loss, [fs_leaf, ys])

    pool_train_step()  # t_i = 1, as the C# pool member (T_max = 2) starts
    fns = {"outer step": outer_step, "embed real (no grad)": embed_real, "embed synthetic (recorded)": embed_synthetic,
           "KRR loss + grad (from features)": krr_loss_and_grad, "outer gradients": outer_gradients,
           "pool train step": pool_train_step}
    rows = []
    for phase in PHASES:
        t = time_fn(fns[phase], args.warmup, args.reps)
        rows.append({"config": name, "phase": phase, "m": m, "B": b, "d": d, "widths": "-".join(map(str, cfg["widths"])),
                     "input": f"{c}x{s}x{s}", "median_ms": t["median_s"] * 1e3, "min_ms": t["min_s"] * 1e3,
                     "steps_per_s": 1 / t["median_s"]})
    return rows


def main() -> None:
    p = base_parser(__doc__)
    p.add_argument("--configs", nargs="+", default=list(KRR), help="configs from shapes.py KRR (default: all)")
    args = p.parse_args()
    setup(args)
    rows = []
    for name in args.configs:
        rows += run_config(name, args)
    report("krr_outer", args, rows, ["config", "phase", "m", "B", "d", "widths", "input", "median_ms", "min_ms", "steps_per_s"])


if __name__ == "__main__":
    main()
