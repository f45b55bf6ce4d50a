"""Shared timing, argument and reporting helpers for the PyTorch side-by-side benchmarks.

These scripts are the PyTorch half of RawDistill's CPU comparisons; the C# half comes from
`rawdistill bench` and the BenchmarkDotNet project on the same shapes. Every script times
with the same rules (warm-up runs, then N timed repetitions, median and min reported) so
that a ratio against the C# numbers compares like with like.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from typing import Callable, Dict, List, Optional

import torch


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (falls back to platform.processor())."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def base_parser(description: str) -> argparse.ArgumentParser:
    """Arguments every benchmark accepts: threads, warm-up, repetitions, JSON output."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--threads", type=int, default=2,
                   help="torch.set_num_threads value (default 2, to match the 2-core C# runs)")
    p.add_argument("--warmup", type=int, default=2, help="untimed warm-up runs per case (default 2)")
    p.add_argument("--reps", type=int, default=5, help="timed repetitions per case (default 5)")
    p.add_argument("--json", metavar="FILE", default=None, help="also write the results as JSON to FILE")
    return p


def setup(args: argparse.Namespace) -> None:
    """Pins the thread count and disables autograd bookkeeping defaults that skew timings."""
    torch.set_num_threads(args.threads)
    # One inter-op thread: the benchmarks run one op at a time, so a second pool only adds noise.
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set (it can only be set once per process)
    torch.manual_seed(0)


def time_fn(fn: Callable[[], object], warmup: int, reps: int) -> Dict[str, float]:
    """Runs fn warmup times untimed, then reps times timed; returns median and min seconds."""
    for _ in range(warmup):
        fn()
    samples: List[float] = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(samples), "min_s": min(samples), "reps": reps}


def blas_kernels() -> str:
    """The kernel family of the OpenBLAS that torch's BLAS/LAPACK calls run on (e.g. "SkylakeX", or
    "Haswell" when OPENBLAS_CORETYPE forces it), via openblas_get_corename; "unknown" otherwise.
    Debian's torch reaches OpenBLAS through libblas.so.3 / liblapack.so.3 (alternatives), which
    are already loaded by the time this runs, so CDLL returns the same instance."""
    import ctypes
    for name in (None, "libblas.so.3", "libopenblas.so.0"):
        try:
            f = ctypes.CDLL(name).openblas_get_corename
        except (OSError, AttributeError):
            continue
        f.restype = ctypes.c_char_p
        return f().decode()
    return "unknown"


def environment(args: argparse.Namespace) -> Dict[str, object]:
    """What a reader needs to reproduce or compare the run."""
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "openblas_core": blas_kernels(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
        "warmup": args.warmup,
        "reps": args.reps,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def report(name: str, args: argparse.Namespace, rows: List[Dict[str, object]],
           columns: List[str], extra: Optional[Dict[str, object]] = None) -> None:
    """Prints a plain Markdown table of rows[columns] and writes JSON when --json was given."""
    env = environment(args)
    if extra:
        env.update(extra)
    print(f"# {name}: torch {env['torch']}, {env['threads']} threads, {env['cpu']}, "
          f"warmup {env['warmup']}, reps {env['reps']}, OpenBLAS core {env['openblas_core']}")
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join(" --- " for _ in columns) + "|")
    for r in rows:
        print("| " + " | ".join(_fmt(r.get(c, "")) for c in columns) + " |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"benchmark": name, "environment": env, "results": rows}, f, indent=2)
            f.write("\n")


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1 else f"{v:.1f}" if abs(v) < 1e5 else f"{v:.4g}"
    return str(v)
