#!/usr/bin/env python3
"""Pre-trains a torchvision network on a RawDistill distilled set, in plain PyTorch.

    python3 examples/pytorch_pretrain.py run/distilled.safetensors --arch resnet18 --epochs 1000 --out r18-pretrained.pt

A distilled set is a safetensors file: x_syn (f32 [m, C, H, W], pixel space, values near
[0, 1]) and y_syn (f32 [m, d], the teacher's representations as regression targets), with
metadata that includes the normalization the teacher used ("normalization":
{"mean": [...], "std": [...]}). Pre-training regresses head(encoder(normalize(x_syn))) onto y_syn
with MSE, the KRR-ST protocol (SGD lr 0.1, momentum 0.9, weight decay 1e-3, batch 256, 1000
epochs; evaluation.md in the design pages). The encoder is a torchvision ResNet whose head `fc`
is replaced by a d-wide linear layer for the regression and by the identity in the saved
state dict, which is therefore the bare encoder (load it into torchvision's resnet18 with the
same stem changes, `strict=True`), ready for a linear probe or fine-tuning.

Small images (64 px or less) get the CIFAR stem (3x3 stride-1 conv1, no max-pool) as in KRR-ST;
larger ones keep torchvision's ImageNet stem.

Needs PyTorch and torchvision; reads safetensors with the `safetensors` package when it is
installed, else with the small reader below.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import struct
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "U8": np.uint8}


def read_safetensors(path: str):
    """(tensors, metadata) of a safetensors file."""
    try:
        from safetensors import safe_open
        with safe_open(path, framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    except ImportError:
        pass
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype=DTYPES[e["dtype"]]).reshape(e["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out, meta


def build_encoder(arch: str, channels: int, size: int, outputs: int) -> nn.Module:
    model = getattr(torchvision.models, arch)()  # random initialization
    width = model.conv1.out_channels
    if size <= 64:
        # KRR-ST / solo-learn CIFAR stem.
        model.conv1 = nn.Conv2d(channels, width, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    elif channels != 3:
        model.conv1 = nn.Conv2d(channels, width, kernel_size=7, stride=2, padding=3, bias=False)
    model.fc = nn.Linear(model.fc.in_features, outputs)
    return model


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("distilled", help="distilled.safetensors written by `rawdistill distill`")
    p.add_argument("--arch", default="resnet18", help="torchvision ResNet: resnet18 | resnet34 | resnet50 (default resnet18)")
    p.add_argument("--epochs", type=int, default=1000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="pretrained.pt", help="state dict of the pre-trained encoder (fc removed)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = p.parse_args(argv)
    if a.arch not in ("resnet18", "resnet34", "resnet50"):
        sys.exit(f"error: --arch: expected resnet18, resnet34 or resnet50, got '{a.arch}'")
    if not os.path.isfile(a.distilled):
        sys.exit(f"error: no file at {a.distilled}")

    tensors, meta = read_safetensors(a.distilled)
    if "x_syn" not in tensors or "y_syn" not in tensors:
        sys.exit(f"error: {a.distilled}: expected x_syn and y_syn (a distilled set), found {', '.join(tensors)}")
    x, y = tensors["x_syn"].float(), tensors["y_syn"].float()
    m, c, h, w = x.shape
    norm = json.loads(meta["normalization"]) if "normalization" in meta else {"mean": [0.0] * c, "std": [1.0] * c}
    mean, std = norm["mean"], norm["std"]
    if len(mean) == 1 and c == 3:
        mean, std = mean * 3, std * 3
    mean = torch.tensor(mean).view(1, c, 1, 1)
    std = torch.tensor(std).view(1, c, 1, 1)
    x = (x - mean) / std

    torch.manual_seed(a.seed)
    device = torch.device(a.device)
    model = build_encoder(a.arch, c, h, y.shape[1]).to(device)
    x, y = x.to(device), y.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=a.weight_decay)
    steps_per_epoch = math.ceil(m / a.batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs * steps_per_epoch)
    print(f"{a.distilled}: {m} images {c}x{h}x{w}, targets {y.shape[1]}-d ({meta.get('method', meta.get('format', 'distilled set'))}); "
          f"pre-training torchvision {a.arch} for {a.epochs} epochs on {device}")
    model.train()
    for epoch in range(1, a.epochs + 1):
        perm = torch.randperm(m, device=device)
        total = 0.0
        for s in range(steps_per_epoch):
            idx = perm[s * a.batch:(s + 1) * a.batch]
            loss = F.mse_loss(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        if epoch == 1 or epoch == a.epochs or epoch % max(1, a.epochs // 10) == 0:
            print(f"epoch {epoch}/{a.epochs} mse {total / m:.5f}")
        if not math.isfinite(total):
            sys.exit("error: the loss diverged; lower --lr")

    model.fc = nn.Identity()
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    folder = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".pretrained.", suffix=".tmp", dir=folder)
    os.close(fd)
    torch.save(state, tmp)
    os.replace(tmp, a.out)
    print(f"wrote {a.out}: the {a.arch} encoder ({sum(v.numel() for k, v in state.items() if 'num_batches' not in k):,} values, fc = Identity)")


if __name__ == "__main__":
    main()
