#!/usr/bin/env python3
"""Golden numbers for one KRR-ST outer step (krr-st.md) through a pool ConvNet.

Run with Debian's PyTorch 1.13 (not a pyenv python):
    /usr/bin/python3 tests/pytorch/make_krr_fixtures.py
Writes tests/RawDistill.Tests/Fixtures/krr/krr_step.safetensors, every key prefixed "krr_step.":
  net.*      the pool model's state dict under RawDistill's ConvNet names (features.{i}.*,
             classifier.*), f32, BatchNorm with non-trivial running statistics
  x_syn      X_s, m×1×8×8, pixel space (f32);  y_syn  Y_s, m×d (f32)
  x_real     X_r, B×1×8×8, pixel space (f32);  y_real Y_r, B×d (f32)
  mean, std  normalization statistics (f64, one channel)
  y          L (f64), grad_out = 1;  grad_x_syn, grad_y_syn  ∂L/∂X_s, ∂L/∂Y_s (f64)
The reference computation runs in float64 from the f32 values: pool model in eval mode,
F = [embed(norm(X)), 1], K_ss = F_s F_sᵀ, K_rs = F_r F_sᵀ, λ = 1e-6·tr(K_ss) detached,
α = (K_ss + λI)⁻¹ Y_s, L = mean((K_rs α − Y_r)²).
"""
import json
import os
import torch
import torch.nn as nn
from safetensors_io import save_file

torch.manual_seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "RawDistill.Tests", "Fixtures", "krr", "krr_step.safetensors")

m, B, d, size, widths = 6, 10, 5, 8, [4, 8]
mean, std = 0.3, 0.25


def convnet(widths, d):
    layers, c = [], 1
    for w in widths:
        layers += [nn.Conv2d(c, w, 3, 1, 1, bias=True), nn.BatchNorm2d(w), nn.ReLU(), nn.AvgPool2d(2)]
        c = w
    feats = nn.Sequential(*layers)
    p = c * (size // 2 ** len(widths)) ** 2
    return feats, nn.Linear(p, d)


features, head = convnet(widths, d)
with torch.no_grad():
    for mod in features:
        if isinstance(mod, nn.BatchNorm2d):
            mod.weight.uniform_(0.5, 1.5)
            mod.bias.uniform_(-0.3, 0.3)
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 2.0)
            mod.num_batches_tracked.fill_(7)

x_syn = torch.rand(m, 1, size, size)
y_syn = torch.randn(m, d)
x_real = torch.rand(B, 1, size, size)
y_real = torch.randn(B, d)

features64 = features.double().eval()
xs = x_syn.double().requires_grad_(True)
ys = y_syn.double().requires_grad_(True)


def embed(x):
    return features64((x - mean) / std).flatten(1)


fs = torch.cat([embed(xs), torch.ones(m, 1, dtype=torch.float64)], 1)
with torch.no_grad():
    fr = torch.cat([embed(x_real.double()), torch.ones(B, 1, dtype=torch.float64)], 1)
kss = fs @ fs.T
krs = fr @ fs.T
lam = 1e-6 * torch.trace(kss).detach()
alpha = torch.cholesky_solve(ys, torch.linalg.cholesky(kss + lam * torch.eye(m, dtype=torch.float64)))
loss = ((krs @ alpha - y_real.double()) ** 2).mean()
gx, gy = torch.autograd.grad(loss, [xs, ys])

tensors = {}
for k, v in features.float().state_dict().items():
    # num_batches_tracked as I32 (RawDistill's BatchNorm buffer; safetensors I64 is not read).
    tensors[f"net.features.{k}"] = v.detach().clone().to(torch.int32) if k.endswith("num_batches_tracked") else v.detach().clone()
for k, v in head.state_dict().items():
    tensors[f"net.classifier.{k}"] = v.detach().clone()
tensors.update(x_syn=x_syn, y_syn=y_syn, x_real=x_real, y_real=y_real,
               mean=torch.tensor([mean], dtype=torch.float64), std=torch.tensor([std], dtype=torch.float64),
               y=loss.detach(), grad_out=torch.tensor(1.0, dtype=torch.float64), grad_x_syn=gx, grad_y_syn=gy)
# The repository's fixture convention (tests/pytorch/README.md): keys <case>.<name>, a "cases"
# list and one JSON object per case in the metadata, y / grad_out / grad_* per case.
tensors = {f"krr_step.{k}": v for k, v in tensors.items()}
meta = {"cases": json.dumps(["krr_step"]),
        "krr_step": json.dumps({"dtype": "F64", "m": m, "B": B, "d": d, "size": size, "widths": widths, "ridge": 1e-6,
                                "torch": torch.__version__})}
save_file(tensors, OUT, metadata=meta)
print(f"wrote {OUT}: loss {loss.item():.6g}, |grad_x| {gx.abs().max().item():.3g}, |grad_y| {gy.abs().max().item():.3g}")
