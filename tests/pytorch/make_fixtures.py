#!/usr/bin/python3
"""Writes the PyTorch golden fixtures under tests/RawDistill.Tests/Fixtures/.

Run with Debian's interpreter, which has PyTorch 1.13 (CPU):

    /usr/bin/python3 tests/pytorch/make_fixtures.py

Key naming convention (see tests/pytorch/README.md for every case):

* One safetensors file per op family (conv2d, batchnorm, groupnorm, pool, losses, linalg).
* Tensor keys are `<case>.<name>`, e.g. `conv2d_s2_p1_g2.x`.
    - `x`          main input (other inputs get their own names: `w`, `b`, `target`, `a`, `l`, ...)
    - `y`          the op's output (a loss is a scalar `y`, shape [])
    - `grad_out`   a random upstream gradient, same shape as `y`
    - `grad_<n>`   d sum(y * grad_out) / d <n>, for every differentiable input/parameter <n>
  Anything else (running statistics, batch statistics, labels) is named in the README.
* `__metadata__` holds, per case, the key `<case>` whose value is a JSON object string with
  the op's hyperparameters (e.g. "conv2d_s2_p1_g2": "{\"dtype\":\"F64\",\"groups\":2,...}"),
  plus the file-level keys `cases` (JSON list of case names), `generator`, `torch_version`
  and `seed`.
* Everything is float64 (the C# engine compares in f64 with <= 1e-10 relative error) except
  the case `conv2d_s1_p1_f32`, computed entirely in float32, and integer labels (I32).
* Each family starts from torch.manual_seed(0), so editing one family does not change the
  others.
"""

from __future__ import annotations

import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "tests", "RawDistill.Tests", "Fixtures")
F64 = torch.float64


class Family:
    """Collects the tensors and per-case metadata of one fixture file."""

    def __init__(self, name: str):
        self.name = name
        self.tensors: dict[str, torch.Tensor] = {}
        self.meta: dict[str, str] = {}
        self.cases: list[str] = []
        torch.manual_seed(0)

    def add(self, case: str, params: dict, **tensors: torch.Tensor) -> None:
        assert case not in self.meta and case not in ("cases", "generator", "torch_version", "seed")
        self.cases.append(case)
        self.meta[case] = json.dumps(params, sort_keys=True, separators=(",", ":"))
        for key, t in tensors.items():
            self.tensors[f"{case}.{key}"] = t.detach().clone().contiguous()

    def save(self) -> str:
        meta = dict(self.meta)
        meta["cases"] = json.dumps(self.cases)
        meta["generator"] = "tests/pytorch/make_fixtures.py"
        meta["torch_version"] = torch.__version__
        meta["seed"] = "0"
        path = os.path.join(OUT_DIR, f"{self.name}.safetensors")
        safetensors_io.save_file(self.tensors, path, meta)
        # Read back through the independent parser as a self-check of the writer.
        loaded, loaded_meta = safetensors_io.load_file(path)
        assert loaded_meta == meta and loaded.keys() == self.tensors.keys()
        for k, v in self.tensors.items():
            assert loaded[k].dtype == v.dtype and torch.equal(loaded[k], v), k
        return path


def leaf(t: torch.Tensor) -> torch.Tensor:
    return t.detach().clone().requires_grad_(True)


def grads(y: torch.Tensor, grad_out: torch.Tensor, **wrt: torch.Tensor) -> dict[str, torch.Tensor]:
    """Gradients of sum(y * grad_out) w.r.t. each named input, keyed grad_<name>."""
    gs = torch.autograd.grad((y * grad_out).sum(), list(wrt.values()))
    return {f"grad_{name}": g for name, g in zip(wrt, gs)}


def conv2d() -> Family:
    fam = Family("conv2d")
    x = torch.randn(2, 4, 7, 6, dtype=F64)
    specs = [
        # case, out channels, in/groups, kernel, stride, padding, groups, bias
        ("conv2d_s1_p1", 6, 4, 3, 1, 1, 1, True),
        ("conv2d_s2_p1_g2", 6, 2, 3, 2, 1, 2, True),
        ("conv2d_dw", 4, 1, 3, 1, 1, 4, False),
        ("conv2d_1x1", 6, 4, 1, 1, 0, 1, True),
    ]
    for case, k, cin_g, ks, stride, padding, groups, has_bias in specs:
        w = torch.randn(k, cin_g, ks, ks, dtype=F64)
        b = torch.randn(k, dtype=F64) if has_bias else None
        xs, ws = leaf(x), leaf(w)
        bs = leaf(b) if b is not None else None
        y = F.conv2d(xs, ws, bs, stride=stride, padding=padding, groups=groups)
        grad_out = torch.randn(y.shape, dtype=F64)
        wrt = {"x": xs, "w": ws}
        tensors = {"x": x, "w": w}
        if bs is not None:
            wrt["b"] = bs
            tensors["b"] = b
        params = {"stride": stride, "padding": padding, "groups": groups, "dilation": 1,
                  "bias": has_bias, "dtype": "F64"}
        fam.add(case, params, **tensors, y=y, grad_out=grad_out, **grads(y, grad_out, **wrt))

        if case == "conv2d_s1_p1":
            # Same values rounded to float32 and computed entirely in float32.
            x32, w32, b32, g32 = (leaf(t.float()) for t in (x, w, b, grad_out))
            y32 = F.conv2d(x32, w32, b32, stride=stride, padding=padding, groups=groups)
            fam.add("conv2d_s1_p1_f32", {**params, "dtype": "F32"},
                    x=x32, w=w32, b=b32, y=y32, grad_out=g32,
                    **grads(y32, g32.detach(), x=x32, w=w32, b=b32))
    return fam


def batchnorm() -> Family:
    fam = Family("batchnorm")
    eps, momentum = 1e-5, 0.1

    def case(name: str, shape: tuple, training: bool, rm_in: torch.Tensor, rv_in: torch.Tensor) -> None:
        c = shape[1]
        x = torch.randn(shape, dtype=F64)
        w = 1.0 + 0.5 * torch.randn(c, dtype=F64)
        b = 0.5 * torch.randn(c, dtype=F64)
        rm, rv = rm_in.clone(), rv_in.clone()
        xs, ws, bs = leaf(x), leaf(w), leaf(b)
        y = F.batch_norm(xs, rm, rv, ws, bs, training=training, momentum=momentum, eps=eps)
        grad_out = torch.randn(y.shape, dtype=F64)
        extra = {}
        if training:
            axes = [0] + list(range(2, x.dim()))
            # Statistics used to normalize (biased variance); the running variance is updated
            # with the unbiased one: running_var_out = 0.9 * running_var_in + 0.1 * var * n/(n-1).
            extra = {"batch_mean": x.mean(dim=axes), "batch_var": x.var(dim=axes, unbiased=False)}
            count = x.numel() // c
            assert torch.allclose(rm, (1 - momentum) * rm_in + momentum * extra["batch_mean"], rtol=1e-14, atol=1e-15)
            assert torch.allclose(rv, (1 - momentum) * rv_in + momentum * extra["batch_var"] * count / (count - 1),
                                  rtol=1e-14, atol=1e-15)
        else:
            assert torch.equal(rm, rm_in) and torch.equal(rv, rv_in)
        params = {"training": training, "momentum": momentum, "eps": eps, "affine": True,
                  "dims": "2d" if x.dim() == 4 else "1d", "dtype": "F64"}
        fam.add(name, params, x=x, w=w, b=b, running_mean_in=rm_in, running_var_in=rv_in,
                y=y, running_mean_out=rm, running_var_out=rv, **extra, grad_out=grad_out,
                **grads(y, grad_out, x=xs, w=ws, b=bs))

    case("bn2d_train", (4, 3, 5, 5), True, torch.zeros(3, dtype=F64), torch.ones(3, dtype=F64))
    case("bn2d_eval", (4, 3, 5, 5), False,
         0.5 * torch.randn(3, dtype=F64), 0.5 + torch.rand(3, dtype=F64))
    case("bn1d_train", (8, 5), True, torch.zeros(5, dtype=F64), torch.ones(5, dtype=F64))
    return fam


def groupnorm() -> Family:
    fam = Family("groupnorm")
    eps = 1e-5
    for name, groups in (("gn_g2", 2), ("gn_g6", 6)):
        x = torch.randn(2, 6, 4, 5, dtype=F64)
        w = 1.0 + 0.5 * torch.randn(6, dtype=F64)
        b = 0.5 * torch.randn(6, dtype=F64)
        xs, ws, bs = leaf(x), leaf(w), leaf(b)
        y = F.group_norm(xs, groups, ws, bs, eps=eps)
        if groups == 6:
            # One channel per group is instance norm with a per-channel affine.
            assert torch.allclose(y, F.instance_norm(x, weight=w, bias=b, eps=eps), rtol=1e-12, atol=1e-13)
        grad_out = torch.randn(y.shape, dtype=F64)
        fam.add(name, {"groups": groups, "channels": 6, "eps": eps, "affine": True, "dtype": "F64"},
                x=x, w=w, b=b, y=y, grad_out=grad_out, **grads(y, grad_out, x=xs, w=ws, b=bs))
    return fam


def pool() -> Family:
    fam = Family("pool")
    # Continuous random values: no ties inside a max-pool window (checked below).
    x = torch.randn(2, 3, 7, 6, dtype=F64)
    assert x.flatten().unique().numel() == x.numel()
    specs = [
        ("avgpool_k2_s2", "avg", 2, 2, 0),
        ("avgpool_k3_s2_p1", "avg", 3, 2, 1),
        ("maxpool_k2_s2", "max", 2, 2, 0),
        ("maxpool_k3_s2_p1", "max", 3, 2, 1),
    ]
    for name, kind, k, s, p in specs:
        xs = leaf(x)
        if kind == "avg":
            y = F.avg_pool2d(xs, k, s, p, ceil_mode=False, count_include_pad=True)
            params = {"kind": "avg", "kernel": k, "stride": s, "padding": p,
                      "ceil_mode": False, "count_include_pad": True, "dtype": "F64"}
        else:
            y = F.max_pool2d(xs, k, s, p, ceil_mode=False)
            params = {"kind": "max", "kernel": k, "stride": s, "padding": p,
                      "ceil_mode": False, "dtype": "F64"}
        grad_out = torch.randn(y.shape, dtype=F64)
        fam.add(name, params, x=x, y=y, grad_out=grad_out, **grads(y, grad_out, x=xs))
    xs = leaf(x)
    y = F.adaptive_avg_pool2d(xs, 1)  # (N, C, 1, 1): the mean over H and W
    grad_out = torch.randn(y.shape, dtype=F64)
    fam.add("global_avgpool", {"kind": "adaptive_avg", "output_size": 1, "dtype": "F64"},
            x=x, y=y, grad_out=grad_out, **grads(y, grad_out, x=xs))
    return fam


def losses() -> Family:
    fam = Family("losses")
    logits = torch.randn(6, 5, dtype=F64)
    labels = torch.randint(0, 5, (6,))
    xs = leaf(logits)
    y = F.cross_entropy(xs, labels, reduction="mean")
    grad_out = torch.randn((), dtype=F64)
    fam.add("cross_entropy", {"reduction": "mean", "classes": 5, "dtype": "F64"},
            x=logits, labels=labels.to(torch.int32), y=y, grad_out=grad_out,
            **grads(y, grad_out, x=xs))

    x = torch.randn(4, 7, dtype=F64)
    for name, fn in (("log_softmax", F.log_softmax), ("softmax", F.softmax)):
        xs = leaf(x)
        y = fn(xs, dim=-1)
        grad_out = torch.randn(y.shape, dtype=F64)
        fam.add(name, {"dim": -1, "dtype": "F64"}, x=x, y=y, grad_out=grad_out,
                **grads(y, grad_out, x=xs))

    x = torch.randn(4, 7, dtype=F64)
    target = torch.randn(4, 7, dtype=F64)
    xs, ts = leaf(x), leaf(target)
    y = F.mse_loss(xs, ts, reduction="mean")
    grad_out = torch.randn((), dtype=F64)
    fam.add("mse", {"reduction": "mean", "dtype": "F64"}, x=x, target=target, y=y,
            grad_out=grad_out, **grads(y, grad_out, x=xs, target=ts))
    return fam


def _directional(f, a: torch.Tensor, d: torch.Tensor, h: float = 1e-6) -> float:
    """Central finite difference of scalar f at a along d."""
    return ((f(a + h * d) - f(a - h * d)) / (2 * h)).item()


def linalg() -> Family:
    fam = Family("linalg")
    n, m = 6, 3
    mm = torch.randn(n, n, dtype=F64)
    a = mm @ mm.T + n * torch.eye(n, dtype=F64)
    b = torch.randn(n, m, dtype=F64)

    # L = cholesky(A), lower.
    a_s = leaf(a)
    l = torch.linalg.cholesky(a_s)
    g = torch.randn(n, n, dtype=F64)
    (grad_a,) = torch.autograd.grad((l * g).sum(), [a_s])
    # Claims made in the README, checked here: torch's grad_a is symmetric (to rounding), the
    # strictly-upper part of grad_out does not matter, and <grad_a, E> is the derivative along
    # a symmetric direction E.
    assert torch.allclose(grad_a, grad_a.T, rtol=0, atol=1e-14)
    (grad_a_tril_g,) = torch.autograd.grad((torch.linalg.cholesky(a_s) * g.tril()).sum(), [a_s])
    assert torch.allclose(grad_a, grad_a_tril_g, rtol=0, atol=1e-14)
    e = torch.randn(n, n, dtype=F64)
    e = e + e.T
    fd = _directional(lambda t: (torch.linalg.cholesky(t) * g).sum(), a, e)
    assert abs(fd - (grad_a * e).sum().item()) < 1e-6 * max(1.0, abs(fd))
    # The closed form the README states: grad_a = 1/2 L^-T (Phi + Phi^T) L^-1 with
    # Phi = tril(L^T G) with its diagonal halved.
    l_d = l.detach()
    phi = (l_d.T @ g).tril()
    phi = phi - 0.5 * torch.diag(torch.diag(phi))
    l_inv = torch.linalg.inv(l_d)
    assert torch.allclose(grad_a, 0.5 * l_inv.T @ (phi + phi.T) @ l_inv, rtol=1e-12, atol=1e-14)
    fam.add("cholesky", {"upper": False, "dtype": "F64"}, a=a, y=l, grad_out=g, grad_a=grad_a)

    # X = cholesky_solve(B, L) = (L L^T)^-1 B.
    l0 = torch.linalg.cholesky(a)
    b_s, l_s = leaf(b), leaf(l0)
    x = torch.cholesky_solve(b_s, l_s, upper=False)
    g = torch.randn(n, m, dtype=F64)
    grad_b, grad_l = torch.autograd.grad((x * g).sum(), [b_s, l_s])
    # torch returns grad_l = -(C L) with C = grad_b X^T + X grad_b^T: the gradient as if every
    # entry of L were used (A = L L^T with a full L), NOT masked to the lower triangle. The
    # LAPACK-backed op reads only the lower triangle, so for lower-triangular directions the
    # derivative is <tril(grad_l), D>; check that.
    assert torch.allclose(grad_b, torch.cholesky_solve(g, l0), rtol=1e-12, atol=1e-14)
    assert torch.allclose(grad_l, -(grad_b @ x.detach().T + x.detach() @ grad_b.T) @ l0, rtol=1e-12, atol=1e-14)
    d = torch.randn(n, n, dtype=F64).tril()
    fd = _directional(lambda t: (torch.cholesky_solve(b, t) * g).sum(), l0, d)
    assert abs(fd - (grad_l.tril() * d).sum().item()) < 1e-6 * max(1.0, abs(fd))
    fam.add("cholesky_solve", {"upper": False, "dtype": "F64"}, a=a, b=b, l=l0, y=x,
            grad_out=g, grad_b=grad_b, grad_l=grad_l, grad_l_tril=grad_l.tril())

    # X = solve(A, B) with the SPD A, and with a general (non-symmetric) A: with a symmetric A,
    # A^-T = A^-1 and a transposition slip in grad_a would go unnoticed.
    a_general = torch.randn(n, n, dtype=F64) + n * torch.eye(n, dtype=F64)
    for name, mat in (("solve", a), ("solve_general", a_general)):
        a_s, b_s = leaf(mat), leaf(b)
        x = torch.linalg.solve(a_s, b_s)
        g = torch.randn(n, m, dtype=F64)
        gr = grads(x, g, a=a_s, b=b_s)
        assert torch.allclose(gr["grad_b"], torch.linalg.solve(mat.T, g), rtol=1e-12, atol=1e-14)
        assert torch.allclose(gr["grad_a"], -gr["grad_b"] @ x.detach().T, rtol=1e-12, atol=1e-14)
        fam.add(name, {"left": True, "dtype": "F64", "symmetric_a": name == "solve"},
                a=mat, b=b, y=x, grad_out=g, **gr)
    return fam


def python_written() -> Family:
    """Known values for the C# reader test (no op, no seed needed)."""
    fam = Family("python_written")
    fam.tensors = {
        "f32_arange": torch.arange(6, dtype=torch.float32).reshape(2, 3) * 0.5 - 1.0,
        "f64_arange": torch.arange(6, dtype=F64).reshape(3, 2) / 8.0,
        "u8_ramp": (torch.arange(12, dtype=torch.int32) * 21).to(torch.uint8).reshape(2, 2, 3),
        "i32_values": torch.tensor([-2147483648, -1, 0, 1, 2147483647], dtype=torch.int32),
        "f32_scalar": torch.tensor(3.5, dtype=torch.float32),
        "f32_empty": torch.zeros(0, 3, dtype=torch.float32),
    }
    fam.meta = {"note": "written by tests/pytorch/safetensors_io.py — héllo ✓",
                "json": json.dumps({"a": 1, "b": [1, 2]})}
    return fam


def main() -> None:
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.set_num_threads(1)  # one thread: bit-identical reruns
    total = 0
    for make in (conv2d, batchnorm, groupnorm, pool, losses, linalg, python_written):
        fam = make()
        path = fam.save()
        size = os.path.getsize(path)
        total += size
        print(f"{os.path.relpath(path, ROOT)}: {len(fam.tensors)} tensors, {size} bytes")
    print(f"total {total} bytes")
    assert total < 2_000_000


if __name__ == "__main__":
    main()
