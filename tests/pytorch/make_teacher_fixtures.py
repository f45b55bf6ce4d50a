#!/usr/bin/env python3
"""Golden numbers for two Barlow Twins training steps (encoder + projector + loss + LARS).

Run with Debian's PyTorch: /usr/bin/python3 tests/pytorch/make_teacher_fixtures.py
Writes tests/RawDistill.Tests/Fixtures/teacher/bt_step.safetensors (a few KB).

The network is a tiny KRR-ST-style ConvNet (1x8x8 input, widths 4-8, BatchNorm2d, ReLU,
avg-pool 2x2; keys features.{i}.*) and the Barlow Twins projector (Linear-BN1d-ReLU x2,
Linear, no biases; keys {i}.*), both in training mode. The augmented views are given as
inputs (random normals), so the test checks the step and not the augmentation. Each step:
z_v = projector(encoder(view_v)) for v = 1, 2 (separate forwards: batch norm sees each view
as its own batch), loss = Barlow Twins (lambda_off given), gradients, LARS as in the
facebookresearch/barlowtwins reference (biases and norm parameters, i.e. ndim == 1, excluded
from weight decay and trust-ratio adaptation) with the learning rate of the step.

Initial weights and views are rounded to float32 and stored as F32 (the C# trainer runs in
f32); the reference computation runs in float64 from those values and the expected results
are stored as F64. Keys:
  init.encoder.<state key>, init.projector.<state key>   F32 (num_batches_tracked dropped)
  step{s}.view1, step{s}.view2                           F32 [6, 1, 8, 8]
  step{s}.loss                                           F64 []
  after.encoder.<state key>, after.projector.<state key> F64 (after both steps)
metadata "teacher_step": JSON with lambda_off, lrs, weight_decay, momentum, eta, widths,
projector, batch.
"""
import json
import math
import os

import torch
import torch.nn as nn
from safetensors_io import save_file

torch.manual_seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))
# Its own folder: the top-level Fixtures/*.safetensors follow the op-family convention.
OUT = os.path.join(HERE, "..", "RawDistill.Tests", "Fixtures", "teacher", "bt_step.safetensors")

WIDTHS = [4, 8]
PROJECTOR = [16, 16, 8]
BATCH = 6
LAMBDA_OFF = 0.05
BASE_LR = 0.3 * BATCH / 256
MIN_LR_FACTOR = 1e-3
WEIGHT_DECAY = 1e-4
MOMENTUM = 0.9
ETA = 0.02
STEPS = 2
# The trainer's schedule with no warm-up: cosine over the run's 2 steps down to 1e-3.
LRS = [BASE_LR * (MIN_LR_FACTOR + (1 - MIN_LR_FACTOR) * 0.5 * (1 + math.cos(math.pi * s / STEPS))) for s in range(STEPS)]


def encoder():
    layers, c = [], 1
    for w in WIDTHS:
        layers += [nn.Conv2d(c, w, 3, 1, 1, bias=True), nn.BatchNorm2d(w), nn.ReLU(), nn.AvgPool2d(2)]
        c = w
    m = nn.Module()
    m.features = nn.Sequential(*layers)
    m.forward = lambda x: torch.flatten(m.features(x), 1)
    return m


def projector(d):
    layers = []
    for i, w in enumerate(PROJECTOR):
        layers.append(nn.Linear(d, w, bias=False))
        if i < len(PROJECTOR) - 1:
            layers += [nn.BatchNorm1d(w), nn.ReLU()]
        d = w
    return nn.Sequential(*layers)


def barlow_twins(z1, z2, lambd):
    n = z1.shape[0]
    bn = lambda z: torch.nn.functional.batch_norm(z, None, None, training=True, eps=1e-5)
    c = bn(z1).T @ bn(z2) / n
    on = (torch.diagonal(c) - 1).pow(2).sum()
    off = (c - torch.diag(torch.diagonal(c))).pow(2).sum()
    return on + lambd * off


def lars_step(params, lr):
    # facebookresearch/barlowtwins main.py LARS with exclude_bias_and_norm filters.
    with torch.no_grad():
        for p in params:
            dp = p.grad
            if p.ndim != 1:
                dp = dp.add(p, alpha=WEIGHT_DECAY)
                pn, un = torch.norm(p), torch.norm(dp)
                one = torch.ones_like(pn)
                q = torch.where(pn > 0., torch.where(un > 0, ETA * pn / un, one), one)
                dp = dp.mul(q)
            state = STATE.setdefault(p, torch.zeros_like(p))
            state.mul_(MOMENTUM).add_(dp)
            p.add_(state, alpha=-lr)


def state(m, prefix):
    return {prefix + k: v.detach().clone() for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")}


enc = encoder()
proj = projector(WIDTHS[-1] * 2 * 2)
# Round the initial weights to f32, then compute in f64.
tensors = {}
for k, v in {**state(enc, "init.encoder."), **state(proj, "init.projector.")}.items():
    tensors[k] = v.float()
enc.double()
proj.double()
STATE = {}
params = list(enc.parameters()) + list(proj.parameters())
for s in range(STEPS):
    v1 = torch.randn(BATCH, 1, 8, 8).float()
    v2 = torch.randn(BATCH, 1, 8, 8).float()
    tensors[f"step{s}.view1"], tensors[f"step{s}.view2"] = v1, v2
    for p in params:
        p.grad = None
    z1 = proj(enc.forward(v1.double()))
    z2 = proj(enc.forward(v2.double()))
    loss = barlow_twins(z1, z2, LAMBDA_OFF)
    loss.backward()
    lars_step(params, LRS[s])
    tensors[f"step{s}.loss"] = loss.detach().clone()
for k, v in {**state(enc, "after.encoder."), **state(proj, "after.projector.")}.items():
    tensors[k] = v.double()

meta = {
    "teacher_step": json.dumps({
        "lambda_off": LAMBDA_OFF, "lrs": LRS, "weight_decay": WEIGHT_DECAY, "momentum": MOMENTUM, "eta": ETA,
        "widths": WIDTHS, "projector": PROJECTOR, "batch": BATCH, "steps": STEPS, "min_lr_factor": MIN_LR_FACTOR,
    }),
    "torch_version": torch.__version__,
    "generator": "tests/pytorch/make_teacher_fixtures.py",
    "seed": "0",
}
save_file(tensors, OUT, metadata=meta)
print("wrote", OUT, "losses", [float(tensors[f"step{s}.loss"]) for s in range(STEPS)])
