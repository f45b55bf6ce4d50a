#!/usr/bin/env python3
"""Golden numbers for MKDT: the outer gradient of trajectory matching and two expert SGD steps.

Run with Debian's PyTorch: /usr/bin/python3 tests/pytorch/make_mkdt_fixtures.py
Writes tests/RawDistill.Tests/Fixtures/mkdt/mkdt.safetensors (float64).

Student: the MKDT ConvNet at a tiny shape (1x8x8 input, widths 3,3, instance norm =
GroupNorm(C, C), ReLU, AvgPool2d(2), conv bias, flatten + Linear -> d = 4). Parameters are
one flat vector in RawDistill's state-dict order (`param_names` metadata).

outer.*  the matching loss as mkdt.md writes it, recorded with create_graph=True:
         theta_0 = theta_start; N = 3 steps theta <- theta - eta * grad mean((f(X_b) - Y_b)^2),
         L = |theta_N - theta_target|^2 / |theta_start - theta_target|^2; gradients to X, Y, eta.
         batches: N rows of `batch` indices into X (i32).
expert.* two SGD steps (lr 0.1, momentum 0.9, weight decay 1e-4) of MSE regression from theta_0
         on two given minibatches (torch.optim.SGD), theta after each step.
"""
import json
import os
import torch
import torch.nn.functional as F
from safetensors_io import save_file

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "RawDistill.Tests", "Fixtures", "mkdt", "mkdt.safetensors")

C_IN, S, W, D = 1, 8, 3, 4
SHAPES = [
    ("features.0.weight", (W, C_IN, 3, 3)), ("features.0.bias", (W,)),
    ("features.1.weight", (W,)), ("features.1.bias", (W,)),
    ("features.4.weight", (W, W, 3, 3)), ("features.4.bias", (W,)),
    ("features.5.weight", (W,)), ("features.5.bias", (W,)),
    ("classifier.weight", (D, W * 2 * 2)), ("classifier.bias", (D,)),
]
P = sum(torch.Size(s).numel() for _, s in SHAPES)


def unflatten(theta):
    out, o = {}, 0
    for name, shape in SHAPES:
        n = torch.Size(shape).numel()
        out[name] = theta[o:o + n].view(shape)
        o += n
    return out


def student(theta, x):
    p = unflatten(theta)
    h = x
    for conv, norm in ((0, 1), (4, 5)):
        h = F.conv2d(h, p[f"features.{conv}.weight"], p[f"features.{conv}.bias"], padding=1)
        h = F.group_norm(h, W, p[f"features.{norm}.weight"], p[f"features.{norm}.bias"], eps=1e-5)
        h = F.avg_pool2d(F.relu(h), 2)
    return F.linear(h.flatten(1), p["classifier.weight"], p["classifier.bias"])


def init_theta():
    parts = []
    for name, shape in SHAPES:
        if name.endswith("1.weight") or name.endswith("5.weight"):
            parts.append(1 + 0.1 * torch.randn(shape))
        elif name.endswith("1.bias") or name.endswith("5.bias"):
            parts.append(0.1 * torch.randn(shape))
        else:
            fan_in = torch.Size(shape[1:]).numel() if len(shape) > 1 else W
            parts.append(torch.randn(shape) / fan_in ** 0.5)
    return torch.cat([q.reshape(-1) for q in parts])


tensors, meta = {}, {"param_names": json.dumps([n for n, _ in SHAPES]), "torch_version": torch.__version__}

# ---- outer gradient, N = 3 -------------------------------------------------------------------
M_SYN, B, N = 4, 2, 3
theta_start = init_theta()
theta_target = theta_start + 0.05 * torch.randn(P)
x = torch.randn(M_SYN, C_IN, S, S, requires_grad=True)
y = torch.randn(M_SYN, D, requires_grad=True)
eta = torch.tensor(0.3, requires_grad=True)
batches = torch.tensor([[0, 2], [3, 1], [1, 0]], dtype=torch.int32)
theta = theta_start.clone().requires_grad_(True)
for k in range(N):
    b = batches[k].long()
    loss_k = ((student(theta, x[b]) - y[b]) ** 2).mean()
    g = torch.autograd.grad(loss_k, theta, create_graph=True)[0]
    theta = theta - eta * g
loss = ((theta - theta_target) ** 2).sum() / ((theta_start - theta_target) ** 2).sum()
gx, gy, geta = torch.autograd.grad(loss, [x, y, eta])
for k, v in dict(theta_start=theta_start, theta_target=theta_target, x=x, y=y, eta=eta, loss=loss,
                 grad_x=gx, grad_y=gy, grad_eta=geta).items():
    tensors[f"outer.{k}"] = v.detach().clone()
tensors["outer.batches"] = batches
meta["outer"] = json.dumps({"m": M_SYN, "batch": B, "steps": N})

# ---- two expert SGD steps ---------------------------------------------------------------------
theta0 = init_theta()
xr = torch.randn(6, C_IN, S, S)
yr = torch.randn(6, D)
steps = torch.tensor([[0, 3, 5], [1, 2, 4]], dtype=torch.int32)
params = [p.clone().requires_grad_(True) for p in unflatten(theta0.clone()).values()]
opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4)
after = []
for s in range(2):
    b = steps[s].long()
    flat = torch.cat([p.reshape(-1) for p in params])
    opt.zero_grad()
    # the same function of the parameters, through the flat vector
    out = student(flat, xr[b])
    ((out - yr[b]) ** 2).mean().backward()
    opt.step()
    after.append(torch.cat([p.detach().reshape(-1) for p in params]))
for k, v in dict(theta0=theta0, x=xr, y=yr, theta1=after[0], theta2=after[1]).items():
    tensors[f"expert.{k}"] = v.detach().clone()
tensors["expert.batches"] = steps
meta["expert"] = json.dumps({"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4})

os.makedirs(os.path.dirname(OUT), exist_ok=True)
save_file(tensors, OUT, metadata=meta)
print(f"wrote {OUT}: loss {loss.item():.6f}, |grad_x| {gx.norm():.3e}, |grad_y| {gy.norm():.3e}, grad_eta {geta.item():.3e}")
