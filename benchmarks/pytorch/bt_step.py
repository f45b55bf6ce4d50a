"""One Barlow Twins step in PyTorch, end to end and by phase: the PyTorch half of
`rawdistill bench bt-step` (src/RawDistill.Methods/Ssl/BarlowTwinsTrainer.TrainStep). Same
encoder (fmnist: ConvNet-32-64-128 on 1x28x28; cifar100: CIFAR-stem ResNet-18 on 3x32x32),
projector (Linear-BN-ReLU, no bias: 512-512-512 / 2048-2048-2048), batch 256, loss (lambda_off
5e-3) and LARS (lr 0.3, wd 1e-4, momentum 0.9, eta 0.02; biases and norm parameters excluded):

  augment    both views on the device, batched, from one u8 batch: random resized crop (scale
             0.08-1, ratio 3/4-4/3, bilinear via grid_sample) + flip, colour jitter (p 0.8:
             brightness 0.4, contrast 0.4, saturation 0.2, hue 0.1 as a YIQ rotation), grayscale
             (p 0.2), Gaussian blur (p 1.0 / 0.1, sigma 0.1-2, 3 taps), solarize (p 0 / 0.2), normalize.
             Same operations and costs as RawDistill's kernels, not bit-identical (fixed jitter
             order, YIQ hue); RawDistill draws its parameters on the host.
  forward    encoder + projector on each view (batch norm sees each view as its own batch)
  loss       standardize each dimension over the batch, C = z1^T z2 / n, on- + off-diagonal terms
  backward   gradients of every parameter
  optimizer  LARS

    /usr/bin/python3 benchmarks/pytorch/bt_step.py --device cpu --config fmnist --threads 2
    python3 benchmarks/pytorch/bt_step.py --device cuda --config cifar100 --json pt-bt.json
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from stepbench import CONFIGS, encoder, measure, parser, phase, projector, report, setup

BATCH = 256


def view(x, blur_p: float, solarize_p: float, mean, std, g):
    """One augmented view of x [n, c, h, w] in [0, 1] (all images at once)."""
    n, c, h, w = x.shape
    dev = x.device

    def u(lo, hi):
        return (torch.rand(n, generator=g) * (hi - lo) + lo).to(dev)

    # Random resized crop + flip as one affine sampling grid per image.
    area = u(0.08, 1.0)
    ratio = torch.exp(u(math.log(3 / 4), math.log(4 / 3)))
    cw = torch.sqrt(area * ratio).clamp(max=1.0)
    ch = torch.sqrt(area / ratio).clamp(max=1.0)
    cx = (u(0, 1) * (1 - cw) * 2 - (1 - cw))
    cy = (u(0, 1) * (1 - ch) * 2 - (1 - ch))
    flip = torch.where(u(0, 1) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3, device=dev)
    theta[:, 0, 0] = cw * flip
    theta[:, 0, 2] = cx
    theta[:, 1, 1] = ch
    theta[:, 1, 2] = cy
    grid = F.affine_grid(theta, (n, c, h, w), align_corners=False)
    y = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    def gray(t):
        if c == 1:
            return t
        return (0.299 * t[:, 0:1] + 0.587 * t[:, 1:2] + 0.114 * t[:, 2:3]).expand_as(t)

    # Colour jitter with probability 0.8 (fixed order: brightness, contrast, saturation, hue).
    on = (u(0, 1) < 0.8).float().view(n, 1, 1, 1)
    j = y * u(0.6, 1.4).view(n, 1, 1, 1)
    m = gray(j).mean(dim=(1, 2, 3), keepdim=True)
    j = ((j - m) * u(0.6, 1.4).view(n, 1, 1, 1) + m).clamp(0, 1)
    if c == 3:
        gj = gray(j)
        j = ((j - gj) * u(0.8, 1.2).view(n, 1, 1, 1) + gj).clamp(0, 1)
        # Hue: rotate the chroma plane of YIQ by 2*pi*h, h ~ U(-0.1, 0.1).
        a = u(-0.1, 0.1) * 2 * math.pi
        to_yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], device=dev)
        rot = torch.zeros(n, 3, 3, device=dev)
        rot[:, 0, 0] = 1
        rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = torch.cos(a), -torch.sin(a), torch.sin(a), torch.cos(a)
        mat = torch.linalg.inv(to_yiq) @ rot @ to_yiq
        j = torch.bmm(mat, j.reshape(n, 3, h * w)).reshape(n, 3, h, w).clamp(0, 1)
    y = on * j + (1 - on) * y
    # Grayscale with probability 0.2.
    gmask = (u(0, 1) < 0.2).float().view(n, 1, 1, 1)
    y = gmask * gray(y) + (1 - gmask) * y
    # Gaussian blur: 3 taps (the engine's size for 28/32 px), sigma ~ U(0.1, 2), reflect padding, separable.
    if blur_p > 0:
        sigma = u(0.1, 2.0).view(n, 1)
        taps = torch.exp(-(torch.arange(-1, 2, device=dev).float().view(1, 3) ** 2) / (2 * sigma ** 2))
        taps = (taps / taps.sum(1, keepdim=True)).repeat_interleave(c, 0)  # [n*c, 3]
        z = F.pad(y.reshape(1, n * c, h, w), (1, 1, 1, 1), mode="reflect")
        z = F.conv2d(z, taps.view(n * c, 1, 1, 3), groups=n * c)
        z = F.conv2d(z, taps.view(n * c, 1, 3, 1), groups=n * c).view(n, c, h, w)
        bmask = (u(0, 1) < blur_p).float().view(n, 1, 1, 1)
        y = bmask * z + (1 - bmask) * y
    if solarize_p > 0:
        smask = (u(0, 1) < solarize_p).view(n, 1, 1, 1)
        y = torch.where(smask & (y >= 0.5), 1 - y, y)
    return (y - mean) / std


def bt_loss(z1, z2, lambda_off=5e-3):
    n = z1.shape[0]
    a = F.batch_norm(z1, None, None, training=True, eps=1e-5)
    b = F.batch_norm(z2, None, None, training=True, eps=1e-5)
    c = a.T @ b / n
    on = (torch.diagonal(c) - 1).pow(2).sum()
    off = c.pow(2).sum() - torch.diagonal(c).pow(2).sum()
    return on + lambda_off * off


class Lars:
    """The engine's LARS: for weights (rank > 1) d = g + wd p, d *= eta |p| / |d|; then momentum SGD."""

    def __init__(self, params, lr, weight_decay=1e-4, momentum=0.9, eta=0.02):
        self.params, self.lr, self.wd, self.momentum, self.eta = list(params), lr, weight_decay, momentum, eta
        self.mu = [None] * len(self.params)

    @torch.no_grad()
    def step(self, grads):
        for i, (p, d) in enumerate(zip(self.params, grads)):
            if p.dim() > 1:
                d = d + self.wd * p
                pn, dn = torch.linalg.vector_norm(p), torch.linalg.vector_norm(d)
                q = torch.where((pn > 0) & (dn > 0), self.eta * pn / dn, torch.ones_like(pn))
                d = d * q
            if self.mu[i] is None:
                self.mu[i] = d.clone()
            else:
                self.mu[i].mul_(self.momentum).add_(d)
            p.sub_(self.lr * self.mu[i])


def main() -> None:
    args = parser(__doc__).parse_args()
    dev = setup(args)
    cfg = CONFIGS[args.config]
    c, s = cfg["channels"], cfg["size"]
    g = torch.Generator().manual_seed(2)
    images = torch.randint(0, 256, (BATCH, c, s, s), dtype=torch.uint8, generator=g)
    mean = torch.full((1, c, 1, 1), 0.5, device=dev)
    std = torch.full((1, c, 1, 1), 0.25, device=dev)
    enc = encoder(cfg["teacher"], c, s).to(dev).train()
    proj = projector(enc.feature_dim, cfg["bt_projector"]).to(dev).train()
    params = list(enc.parameters()) + list(proj.parameters())
    opt = Lars(params, lr=0.3 * BATCH / 256)

    def step(t):
        x = images.to(dev).float() / 255
        with phase(t, "augment"):
            v1 = view(x, 1.0, 0.0, mean, std, g)
            v2 = view(x, 0.1, 0.2, mean, std, g)
        with phase(t, "forward"):
            z1 = proj(enc.embed(v1))
            z2 = proj(enc.embed(v2))
        with phase(t, "loss"):
            loss = bt_loss(z1, z2)
        with phase(t, "backward"):
            grads = torch.autograd.grad(loss, params)
        with phase(t, "optimizer"):
            opt.step(grads)
        loss.item()

    result = measure(dev, args.warmup, args.reps, step)
    shapes = {"images": f"{c}x{s}x{s}", "batch": BATCH, "encoder": cfg["teacher"],
              "projector": "-".join(map(str, cfg["bt_projector"])), "optimizer": "lars"}
    report("bt-step", args, dev, result, shapes, [],
           "both views augmented on the device from one u8 batch (upload outside the phases)")


if __name__ == "__main__":
    main()
