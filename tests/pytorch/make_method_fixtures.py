#!/usr/bin/env python3
"""Golden numbers for the method-level losses (KRR-ST outer loss, Barlow Twins loss).

Run with Debian's PyTorch: /usr/bin/python3 tests/pytorch/make_method_fixtures.py
Writes tests/RawDistill.Tests/Fixtures/methods.safetensors (float64). Conventions as in
README.md: keys <case>.<name>, grad_<name> = gradient of sum(y * grad_out).
"""
import json
import os
import torch
from safetensors_io import save_file

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "RawDistill.Tests", "Fixtures", "methods.safetensors")
tensors, meta = {}, {}


def krr_loss(fs, fr, ys, yr, ridge_scale=1e-6):
    # KRR-ST outer loss as krr-st.md states it (bias feature, constant ridge, f64 solve).
    fs1 = torch.cat([fs, torch.ones(fs.shape[0], 1)], 1)
    fr1 = torch.cat([fr, torch.ones(fr.shape[0], 1)], 1)
    kss = fs1 @ fs1.T
    krs = fr1 @ fs1.T
    lam = ridge_scale * torch.trace(kss).detach()
    alpha = torch.linalg.solve(kss + lam * torch.eye(kss.shape[0]), ys)
    return ((krs @ alpha - yr) ** 2).mean()


m, b, p, d = 8, 6, 5, 4
fs = torch.randn(m, p, requires_grad=True)
fr = torch.randn(b, p)
ys = torch.randn(m, d, requires_grad=True)
yr = torch.randn(b, d)
y = krr_loss(fs, fr, ys, yr)
g = torch.randn(())
gfs, gys = torch.autograd.grad(y, [fs, ys], g)
for k, v in dict(fs=fs, fr=fr, ys=ys, yr=yr, y=y, grad_out=g, grad_fs=gfs, grad_ys=gys).items():
    tensors[f"krr.{k}"] = v.detach().clone()
meta["krr"] = json.dumps({"ridge_scale": 1e-6, "dtype": "F64"})


def barlow_twins(z1, z2, lambd=5e-3):
    # As in the reference: BatchNorm1d(affine=False) in training mode on each view.
    n = z1.shape[0]
    bn = lambda z: torch.nn.functional.batch_norm(z, None, None, training=True, eps=1e-5)
    c = bn(z1).T @ bn(z2) / n
    on = (torch.diagonal(c) - 1).pow(2).sum()
    off = (c - torch.diag(torch.diagonal(c))).pow(2).sum()
    return on + lambd * off


z1 = torch.randn(10, 7, requires_grad=True)
z2 = torch.randn(10, 7, requires_grad=True)
y = barlow_twins(z1, z2, 5e-3)
g = torch.randn(())
g1, g2 = torch.autograd.grad(y, [z1, z2], g)
for k, v in dict(z1=z1, z2=z2, y=y, grad_out=g, grad_z1=g1, grad_z2=g2).items():
    tensors[f"barlow_twins.{k}"] = v.detach().clone()
meta["barlow_twins"] = json.dumps({"lambda_off": 5e-3, "dtype": "F64"})

meta["cases"] = json.dumps(["krr", "barlow_twins"])
meta["torch_version"] = torch.__version__
save_file(tensors, OUT, metadata=meta)
print("wrote", OUT)
