"""PyTorch twin of `rawdistill bench mkdt-step` (src/RawDistill.Cli/Bench/MkdtStepBench.cs): MKDT's
inner step at the reference CIFAR shape (ConvNet-128 x3 with instance norm = GroupNorm(128, 128),
conv bias, avg-pool, Linear 2048 -> 512; 32x32x3; batch 256 from m = 1000 synthetic images), timed and
measured for memory:

  1. one recorded inner step: forward + create_graph parameter gradient, theta' = theta - eta * grad.
     "saved" = bytes of the distinct storages autograd saved for backward (saved_tensors_hooks), plus
     theta' and the gradient; the comparable figure to RawDistill's "held".
  2. that step and its vector-Jacobian product to theta, X, Y and eta.
  3. a whole outer iteration with N steps, the simple route (whole unroll recorded, as the reference
     code does), at the N given (RawDistill rematerializes instead).

Every phase also reports the peak resident set above the resident set at its start (/proc VmHWM after
`echo 5 > /proc/self/clear_refs`), the measure RawDistill's bench reports in the same column.

  /usr/bin/python3 benchmarks/pytorch/mkdt_step.py --reps 1 --unroll 10 --json pt-mkdt-step.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import environment


def student(channels=3, size=32, width=128, depth=3, d=512):
    layers, c = [], channels
    for _ in range(depth):
        layers += [nn.Conv2d(c, width, 3, padding=1, bias=True), nn.GroupNorm(width, width, affine=True), nn.ReLU(),
                   nn.AvgPool2d(2)]
        c, size = width, size // 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * size * size, d))


def functional_forward(net, flat, x):
    """The net with its parameters taken from slices of the flat vector (differentiable)."""
    shapes = [p.shape for p in net.parameters()]
    params, offset = [], 0
    for s in shapes:
        n = int(torch.Size(s).numel())
        params.append(flat[offset:offset + n].view(s))
        offset += n
    i = 0
    h = x
    for m in net:
        if isinstance(m, nn.Conv2d):
            h = F.conv2d(h, params[i], params[i + 1], padding=1); i += 2
        elif isinstance(m, nn.GroupNorm):
            h = F.group_norm(h, m.num_groups, params[i], params[i + 1]); i += 2
        elif isinstance(m, nn.Linear):
            h = F.linear(h, params[i], params[i + 1]); i += 2
        else:
            h = m(h)
    return h


def rss(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    return -1


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure(reps, run):
    times, peak = [], 0
    for r in range(-1, reps):
        ok = reset_peak()
        start = rss("VmRSS:")
        t0 = time.perf_counter()
        out = run()
        dt = (time.perf_counter() - t0) * 1e3
        if r >= 0:
            times.append(dt)
            peak = max(peak, rss("VmHWM:") - start) if ok else -1
        del out
    return statistics.median(times), peak


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads; keep equal to the C# run's thread count")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--unroll", type=int, default=10, help="N of the full-tape outer iteration (0 skips it)")
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = student()
    theta0 = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    theta_t = theta0 + 1e-3 * torch.randn_like(theta0)
    x = torch.rand(a.images, 3, 32, 32) * 2 - 1
    y = torch.randn(a.images, 512)
    eta = torch.tensor(0.1)
    for t in (x, y, eta):
        t.requires_grad_(True)
    g = torch.Generator().manual_seed(12)
    batches = [torch.randperm(a.images, generator=g)[:a.batch] for _ in range(max(1, a.unroll))]

    def step_loss(th, k):
        idx = batches[k]
        return F.mse_loss(functional_forward(net, th, x[idx]), y[idx])

    rows = []
    saved = {}

    def pack(t):
        st = t.storage()
        saved[(st.data_ptr(), st.nbytes())] = st.nbytes() if hasattr(st, "nbytes") else st.size() * t.element_size()
        return t

    def recorded():
        th = theta0.clone().requires_grad_(True)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            grad, = torch.autograd.grad(step_loss(th, 0), th, create_graph=True)
            nxt = th - eta * grad
        return nxt, grad

    ms, peak = measure(a.reps, recorded)
    saved.clear()
    nxt, grad = recorded()
    held = sum(saved.values()) + nxt.numel() * 4 + grad.numel() * 4
    del nxt, grad
    rows.append(dict(phase="recorded inner step (forward + create_graph grad)", ms=ms, peak_rss_bytes=peak, held_bytes=held,
                     notes="held = distinct storages saved for backward (saved_tensors_hooks) + theta' + grad"))
    print(f"recorded inner step: {ms:.0f} ms, saved {held / 2**30:.2f} GiB, peak RSS delta {peak / 2**30:.2f} GiB", flush=True)

    v = torch.randn_like(theta0)

    def step_vjp():
        th = theta0.clone().requires_grad_(True)
        grad, = torch.autograd.grad(step_loss(th, 0), th, create_graph=True)
        nxt = th - eta * grad
        return torch.autograd.grad(nxt, (th, x, y, eta), v)

    ms, peak = measure(a.reps, step_vjp)
    rows.append(dict(phase="recorded step + its VJP to theta, X, Y, eta", ms=ms, peak_rss_bytes=peak, held_bytes=0, notes=""))
    print(f"step + VJP: {ms:.0f} ms, peak RSS delta {peak / 2**30:.2f} GiB", flush=True)

    if a.unroll > 0:
        def outer():
            th = theta0.clone().requires_grad_(True)
            cur = th
            for k in range(a.unroll):
                grad, = torch.autograd.grad(step_loss(cur, k), cur, create_graph=True)
                cur = cur - eta * grad
            loss = ((cur - theta_t) ** 2).sum() / ((theta0 - theta_t) ** 2).sum()
            return torch.autograd.grad(loss, (x, y, eta))

        ms, peak = measure(1, outer)
        rows.append(dict(phase=f"outer iteration, N = {a.unroll}, full tape", ms=ms, peak_rss_bytes=peak, held_bytes=0, notes=""))
        print(f"outer iteration N = {a.unroll}: {ms / 1e3:.1f} s, peak RSS delta {peak / 2**30:.2f} GiB", flush=True)

    doc = dict(bench="mkdt-step", framework="pytorch", torch=torch.__version__, threads=torch.get_num_threads(),
               env=environment(argparse.Namespace(warmup=1, reps=a.reps)), unroll=a.unroll, reps=a.reps, rows=rows,
               rss="peak resident set above the resident set at the start of each phase (/proc VmHWM after clear_refs 5)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=2)
        print("wrote", a.json)


if __name__ == "__main__":
    main()
