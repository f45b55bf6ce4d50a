"""One KRR-ST outer step in PyTorch, end to end and by phase: the PyTorch half of
`rawdistill bench krr-step` (src/RawDistill.Methods/KrrSt/KrrStDistiller.Step, design page
krr-st.md). Same shapes, same algorithm, same phases:

  data             B random real images: host gather -> device, u8 -> [0, 1]
  teacher forward  Y_r: rows of the targets cached for every real image (no augmentation)
  feature forward  F_r = f(norm(X_r)) (no grad), F_s = f(norm(X_s)), pool member in eval mode
  gram             [F, 1] bias feature; K_ss = F_s F_s^T, K_rs = F_r F_s^T
  solve            alpha = (K_ss + 1e-6 tr(K_ss) I)^-1 Y_s by Cholesky in float64; P = K_rs alpha; MSE
  backward         dL/dX_s, dL/dY_s (torch.autograd.grad)
  optimizer        AdamW (weight decay 0) on X_s, Y_s with the linear learning-rate decay
  pool update      the member's full-batch SGD step (lr 0.1, momentum 0.9, wd 1e-3) on (X_s, Y_s)

Images are random and the teacher freshly initialized (timing does not depend on their values);
every pool member starts after one training step, as in the C# benchmark.

    /usr/bin/python3 benchmarks/pytorch/krr_step.py --device cpu --config fmnist --threads 2
    python3 benchmarks/pytorch/krr_step.py --device cuda --config cifar100 --json pt-krr.json
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from stepbench import CONFIGS, ConvNet, encoder, measure, median_ms, parser, phase, report, setup


def main() -> None:
    args = parser(__doc__).parse_args()
    dev = setup(args)
    cfg = CONFIGS[args.config]
    c, s, m, B = cfg["channels"], cfg["size"], cfg["m"], cfg["B"]
    g = torch.Generator().manual_seed(1)
    real = torch.randint(0, 256, (max(m, B), c, s, s), dtype=torch.uint8, generator=g)  # host, like ImageDataset
    mean = torch.full((1, c, 1, 1), 0.5, device=dev)
    std = torch.full((1, c, 1, 1), 0.25, device=dev)

    def norm(x):
        return (x - mean) / std

    teacher = encoder(cfg["teacher"], c, s).to(dev).eval()
    d = teacher.feature_dim
    with torch.no_grad():  # the cache of g(norm(X)) for every real image, kept on the host
        cached = torch.cat([teacher(norm(real[i:i + 256].to(dev).float() / 255)).cpu() for i in range(0, len(real), 256)])

    idx0 = torch.randperm(len(real), generator=g)[:m]
    xs = (real[idx0].to(dev).float() / 255).requires_grad_(True)
    ys = cached[idx0].to(dev).clone().requires_grad_(True)
    adam = torch.optim.AdamW([xs, ys], lr=cfg["lr"], eps=1e-8, weight_decay=0)
    decay = torch.optim.lr_scheduler.LambdaLR(adam, lambda k: 1 + (1e-3 - 1) * min(k, cfg["steps"]) / cfg["steps"])

    pool = []
    for _ in range(cfg["pool"]):
        net = ConvNet(c, s, cfg["widths"], outputs=d).to(dev)
        sgd = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
        pool.append((net, sgd))

    def train_member(net, sgd):
        net.train()
        loss = F.mse_loss(net(norm(xs.detach())), ys.detach())
        params = list(net.parameters())
        for p, gr in zip(params, torch.autograd.grad(loss, params)):
            p.grad = gr
        sgd.step()

    for net, sgd in pool:  # initialPoolSteps: 1
        train_member(net, sgd)

    def step(t):
        k = int(torch.randint(0, len(pool), (1,), generator=g))
        idx = torch.randperm(len(real), generator=g)[:B]
        with phase(t, "data"):
            xr = real[idx].to(dev).float() / 255
        with phase(t, "teacher forward"):
            yr = cached[idx].to(dev)
        net, sgd = pool[k]
        net.eval()
        with phase(t, "feature forward"):
            with torch.no_grad():
                fr = net.embed(norm(xr))
            fs = net.embed(norm(xs))
        with phase(t, "gram"):
            fsb = torch.cat([fs, torch.ones(m, 1, device=dev)], 1)
            frb = torch.cat([fr, torch.ones(B, 1, device=dev)], 1)
            kss = fsb @ fsb.T
            krs = frb @ fsb.T
        with phase(t, "solve"):
            k64 = kss.double()
            lam = torch.trace(k64).detach() * 1e-6
            chol = torch.linalg.cholesky(k64 + torch.eye(m, dtype=torch.float64, device=dev) * lam)
            alpha = torch.cholesky_solve(ys.double(), chol).float()
            loss = F.mse_loss(krs @ alpha, yr)
        loss.item()
        with phase(t, "backward"):
            gx, gy = torch.autograd.grad(loss, [xs, ys])
        with phase(t, "optimizer"):
            xs.grad, ys.grad = gx, gy
            adam.step()
            decay.step()
        with phase(t, "pool update"):
            train_member(net, sgd)

    result = measure(dev, args.warmup, args.reps, step)

    def teacher_batch():
        with torch.no_grad():
            teacher(norm(real[:B].to(dev).float() / 255))

    extra = [{"phase": f"teacher forward over B = {B} images (outside the step: targets are cached)",
              "median_ms": median_ms(dev, args.warmup, args.reps, teacher_batch)}]
    shapes = {"images": f"{c}x{s}x{s}", "m": m, "B": B, "d": d,
              "pool_net": "ConvNet-" + "-".join(map(str, cfg["widths"])) + "-batch", "pool_size": cfg["pool"],
              "teacher": cfg["teacher"], "augment": False}
    report("krr-step", args, dev, result, shapes, extra,
           "no augmentation: teacher targets are computed once for every real image and looked up per step; "
           "the extra row times g on one batch")


if __name__ == "__main__":
    main()
