"""Shared pieces of krr_step.py and bt_step.py: the networks of RawDistill's engine in PyTorch
(ConvNet, CIFAR-stem ResNet-18, the MLP projector), the two benchmark configurations, a phase
timer, and the measurement protocol of `rawdistill bench krr-step|bt-step` (src/RawDistill.Cli/
Bench/StepBench.cs): warm-up steps, `reps` uninstrumented steps (one synchronize at the end:
the total), then `reps` instrumented steps (a synchronize at every phase boundary: the phases).
Medians throughout. The JSON written has the same keys as RawDistill's, for benchmarks/compare.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Callable, Dict, List, Optional

import torch
import torch.nn as nn

from common import environment

# The configurations of StepShapes.Get (C#): fmnist = the CPU defaults of `rawdistill distill`
# (KrrStConfig.CpuDefault, the default ConvNet teacher), cifar100 = the reference shapes.
CONFIGS = {
    "fmnist": dict(channels=1, size=28, teacher="convnet", m=100, B=256, pool=4, widths=(32, 64, 128),
                   lr=1e-2, steps=200, bt_projector=(512, 512, 512)),
    "cifar100": dict(channels=3, size=32, teacher="resnet18", m=1000, B=1024, pool=10, widths=(128, 256, 512),
                     lr=1e-4, steps=160_000, bt_projector=(2048, 2048, 2048)),
}


class ConvNet(nn.Module):
    """ConvNet of the engine: blocks of conv3x3 (bias) -> BatchNorm2d -> ReLU -> AvgPool2d(2); the
    first conv pads 3 on 1x28x28 input, else 1; embed = flatten; optional linear head `classifier`."""

    def __init__(self, channels: int, size: int, widths, outputs: int = 0):
        super().__init__()
        layers, c = [], channels
        for i, w in enumerate(widths):
            pad = (3 if channels == 1 and size == 28 else 1) if i == 0 else 1
            layers += [nn.Conv2d(c, w, 3, padding=pad, bias=True), nn.BatchNorm2d(w), nn.ReLU(), nn.AvgPool2d(2)]
            size = (size + 2 * pad - 2) // 2
            c = w
        self.features = nn.Sequential(*layers)
        self.feature_dim = c * size * size
        self.classifier = nn.Linear(self.feature_dim, outputs) if outputs else None

    def embed(self, x):
        return torch.flatten(self.features(x), 1)

    def forward(self, x):
        f = self.embed(x)
        return self.classifier(f) if self.classifier is not None else f


class BasicBlock(nn.Module):
    def __init__(self, cin: int, planes: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 with the CIFAR stem (3x3 stride-1 conv1, padding 1, no max-pool), 512-d embedding."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        stages, cin = [], 64
        for s, planes in enumerate((64, 128, 256, 512)):
            for b in range(2):
                stages.append(BasicBlock(cin, planes, 2 if b == 0 and s > 0 else 1))
                cin = planes
        self.layers = nn.Sequential(*stages)
        self.feature_dim = 512

    def embed(self, x):
        y = self.layers(torch.relu(self.bn1(self.conv1(x))))
        return torch.flatten(torch.nn.functional.adaptive_avg_pool2d(y, 1), 1)

    def forward(self, x):
        return self.embed(x)


def encoder(arch: str, channels: int, size: int) -> nn.Module:
    """EncoderConfig.Default(arch, ...).Build() of the engine."""
    return ConvNet(channels, size, (32, 64, 128)) if arch == "convnet" else ResNet18(channels)


def projector(dim: int, dims) -> nn.Sequential:
    """MlpProjector: Linear (no bias) -> BatchNorm1d -> ReLU for all but the last layer."""
    layers = []
    for i, d in enumerate(dims):
        layers.append(nn.Linear(dim, d, bias=False))
        if i < len(dims) - 1:
            layers += [nn.BatchNorm1d(d), nn.ReLU()]
        dim = d
    return nn.Sequential(*layers)


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--device", default="cpu", help="cpu | cuda (default cpu)")
    p.add_argument("--config", default="fmnist", choices=sorted(CONFIGS), help="fmnist | cifar100 (default fmnist)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2, the C# reference machine's cores)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1, as rawdistill bench)")
    p.add_argument("--reps", type=int, default=5, help="timed steps, uninstrumented and instrumented each (default 5)")
    p.add_argument("--json", metavar="FILE", default=None, help="also write the results as JSON to FILE")
    return p


def setup(args: argparse.Namespace) -> torch.device:
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(0)
    dev = torch.device(args.device)
    if dev.type == "cuda":
        # Exact FP32 like RawDistill's default (cuBLAS without TF32).
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    return dev


def synchronize(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


class PhaseTimer:
    """Accumulates wall milliseconds per phase; synchronizes the device at each boundary
    (as RawDistill's PhaseTimer does), so queued GPU work is charged to its phase."""

    def __init__(self, dev: torch.device):
        self.dev, self.ms, self.order = dev, {}, []

    def reset(self):
        self.ms, self.order = {}, []

    def phase(self, name: str):
        timer = self

        class _Scope:
            def __enter__(self):
                synchronize(timer.dev)
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                synchronize(timer.dev)
                if name not in timer.ms:
                    timer.order.append(name)
                    timer.ms[name] = 0.0
                timer.ms[name] += (time.perf_counter() - self.t0) * 1e3
                return False

        return _Scope()


class _NoPhase:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


NO_PHASE = _NoPhase()


def phase(timer: Optional[PhaseTimer], name: str):
    return timer.phase(name) if timer is not None else NO_PHASE


def measure(dev: torch.device, warmup: int, reps: int, step: Callable[[Optional[PhaseTimer]], None]) -> Dict[str, object]:
    for _ in range(warmup):
        step(None)
    synchronize(dev)
    totals = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step(None)
        synchronize(dev)
        totals.append((time.perf_counter() - t0) * 1e3)
    timer = PhaseTimer(dev)
    inst, sums, per = [], [], {}
    order: List[str] = []
    for _ in range(reps):
        timer.reset()
        t0 = time.perf_counter()
        step(timer)
        synchronize(dev)
        inst.append((time.perf_counter() - t0) * 1e3)
        sums.append(sum(timer.ms.values()))
        for p in timer.order:
            if p not in per:
                per[p] = []
                order.append(p)
            per[p].append(timer.ms[p])
    return {
        "total_ms": statistics.median(totals),
        "instrumented_total_ms": statistics.median(inst),
        "phase_sum_ms": statistics.median(sums),
        "phases": [{"phase": p, "median_ms": statistics.median(per[p])} for p in order],
    }


def median_ms(dev: torch.device, warmup: int, reps: int, fn: Callable[[], object]) -> float:
    for _ in range(max(1, warmup)):
        fn()
    synchronize(dev)
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        synchronize(dev)
        t.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(t)


def report(bench: str, args: argparse.Namespace, dev: torch.device, result: Dict[str, object],
           shapes: Dict[str, object], extra: List[Dict[str, object]], notes: str) -> None:
    env = environment(argparse.Namespace(warmup=args.warmup, reps=args.reps))
    if dev.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(dev)
        env["cuda"] = torch.version.cuda
    print(f"# {bench} --config {args.config} on torch {env['torch']} {args.device} "
          f"({env.get('gpu', env['cpu'])}, {env['threads']} threads): "
          + ", ".join(f"{k} {v}" for k, v in shapes.items()))
    print(f"median of {args.reps} steps after {args.warmup} warm-up; {notes}")
    print()
    total = result["instrumented_total_ms"]
    print("| phase | median ms | share |")
    print("| --- | ---: | ---: |")
    for p in result["phases"]:
        print(f"| {p['phase']} | {p['median_ms']:.2f} | {100 * p['median_ms'] / total:.1f}% |")
    print(f"| sum of phases | {result['phase_sum_ms']:.2f} | {100 * result['phase_sum_ms'] / total:.1f}% |")
    print(f"| step, instrumented | {total:.2f} | 100.0% |")
    print(f"| step, uninstrumented | {result['total_ms']:.2f} | |")
    for e in extra:
        print(f"extra: {e['phase']}: {e['median_ms']:.2f} ms")
    if args.json:
        doc = {"bench": bench, "config": args.config, "device": args.device, "environment": env,
               "warmup": args.warmup, "reps": args.reps, **result, "extra": extra,
               "shapes": {k: str(v) for k, v in shapes.items()}, "notes": notes}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
