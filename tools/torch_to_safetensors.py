#!/usr/bin/env python3
"""Converts a PyTorch checkpoint (.pt / .pth / .ckpt) to a safetensors state dict for
`rawdistill teacher import`.

    python3 tools/torch_to_safetensors.py barlow_twins_resnet18_cifar100.pt teacher-weights.safetensors
    python3 tools/torch_to_safetensors.py solo-learn-byol.ckpt weights.safetensors      # finds "state_dict"
    python3 tools/torch_to_safetensors.py run.pth weights.safetensors --key model_ema   # a state dict under another key

RawDistill never unpickles: a pickle can run arbitrary code, so the conversion happens here,
on your side, with `torch.load(..., weights_only=True)`, which only rebuilds tensors and plain
containers. PyTorch older than 1.13 has no weights_only; the script then refuses unless you
pass --trust-pickle (and warns that the file is fully unpickled). A checkpoint that holds
Python objects besides tensors (some Lightning checkpoints keep hyper-parameter objects) is
refused by weights_only too; --trust-pickle loads it if you trust where it came from.

What it writes: every tensor of the state dict under its own name (nested dicts joined with
"."), in the dtypes RawDistill reads: float16/bfloat16 become float32, int64 (BatchNorm's
num_batches_tracked) becomes int32, bool becomes uint8; float32, float64, int32 and uint8 are
kept. Non-tensor entries are skipped and listed. The file is written atomically (temporary
file, then rename). Key prefixes (`backbone.`, `module.`, a `fc` head, a projector) are left
as they are: `rawdistill teacher import` maps them and reports what it dropped.

Needs only PyTorch (and NumPy, which PyTorch brings). Uses the `safetensors` package when it
is installed, else an equivalent built-in writer.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import struct
import sys
import tempfile
from collections import OrderedDict

import torch

# Where training frameworks keep the model's state dict inside a checkpoint, tried in order.
STATE_DICT_KEYS = ("state_dict", "model", "model_state_dict", "module", "net", "network", "teacher", "encoder")

SAFETENSORS_DTYPES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.int32: "I32",
    torch.uint8: "U8",
}
DTYPE_ORDER = ["U8", "I32", "F32", "F64"]  # the reference writer lays data out by descending alignment


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def load_checkpoint(path: str, trust_pickle: bool):
    has_weights_only = "weights_only" in inspect.signature(torch.load).parameters
    if not has_weights_only and not trust_pickle:
        fail(f"PyTorch {torch.__version__} has no torch.load(weights_only=True) (it arrived in 1.13), so loading "
             f"{path} would unpickle arbitrary objects. Upgrade PyTorch, or pass --trust-pickle if you trust the file.")
    if trust_pickle:
        print(f"warning: --trust-pickle: {path} is fully unpickled, which can run code it contains; "
              "only do this for files from a source you trust", file=sys.stderr)
        return torch.load(path, map_location="cpu", **({"weights_only": False} if has_weights_only else {}))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError, or a RuntimeError wrapping it, depending on the version
        fail(f"{path}: torch.load(weights_only=True) refused it ({type(e).__name__}: {str(e).splitlines()[0]}). "
             "The file holds Python objects besides tensors; if you trust where it came from, rerun with --trust-pickle.")


def flatten(obj, prefix: str, out: "OrderedDict[str, torch.Tensor]", skipped: list) -> None:
    for k, v in obj.items():
        name = f"{prefix}{k}"
        if isinstance(v, torch.Tensor):
            out[name] = v
        elif isinstance(v, dict):
            flatten(v, name + ".", out, skipped)
        else:
            skipped.append(f"{name} ({type(v).__name__})")


def find_state_dict(ckpt, key: str | None):
    if isinstance(ckpt, torch.nn.Module):  # only reachable with --trust-pickle
        return ckpt.state_dict(), "the pickled module's state_dict()"
    if not isinstance(ckpt, dict):
        fail(f"the checkpoint is a {type(ckpt).__name__}, not a dict of tensors")
    if key is not None:
        node = ckpt
        for part in key.split("/"):
            if not isinstance(node, dict) or part not in node:
                fail(f"--key {key}: no '{part}' in the checkpoint (keys here: {', '.join(map(str, list(node)[:20])) if isinstance(node, dict) else type(node).__name__})")
            node = node[part]
        if not isinstance(node, dict):
            fail(f"--key {key}: a {type(node).__name__}, not a dict of tensors")
        return node, f"key '{key}'"
    if ckpt and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        return ckpt, "the whole file"
    for k in STATE_DICT_KEYS:
        v = ckpt.get(k)
        if isinstance(v, dict) and any(isinstance(t, torch.Tensor) for t in v.values()):
            return v, f"key '{k}'"
    if any(isinstance(v, torch.Tensor) for v in ckpt.values()):
        return ckpt, "the whole file"
    fail(f"no state dict found: top-level keys are {', '.join(map(str, list(ckpt)[:20]))}; name the one that holds the weights with --key")


def to_supported(name: str, t: torch.Tensor) -> torch.Tensor:
    t = t.detach().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        return t.to(torch.float32)
    if t.dtype == torch.int64:
        if t.numel() and (t.max().item() > 2**31 - 1 or t.min().item() < -(2**31)):
            fail(f"{name}: int64 values outside the int32 range cannot be converted")
        return t.to(torch.int32)
    if t.dtype == torch.bool:
        return t.to(torch.uint8)
    if t.dtype not in SAFETENSORS_DTYPES:
        fail(f"{name}: dtype {t.dtype} has no safetensors type RawDistill reads (F32, F64, I32, U8)")
    return t


def serialize(tensors: "OrderedDict[str, torch.Tensor]", metadata: dict) -> bytes:
    """The safetensors layout of the reference writer: data by descending dtype size then name,
    compact JSON header padded with spaces to a multiple of 8."""
    items = []
    for name, t in tensors.items():
        data = t.contiguous().numpy().tobytes()
        items.append((name, SAFETENSORS_DTYPES[t.dtype], list(t.shape), data))
    items.sort(key=lambda it: (-DTYPE_ORDER.index(it[1]), it[0].encode("utf-8")))
    header: dict = {"__metadata__": dict(sorted(metadata.items()))}
    offset = 0
    for name, dt, shape, data in items:
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"".join(it[3] for it in items)


def write_atomically(path: str, blob: bytes) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def convert(src: str, dst: str, key: str | None = None, trust_pickle: bool = False) -> "OrderedDict[str, torch.Tensor]":
    """Converts `src` to `dst`; returns the tensors written."""
    if not os.path.isfile(src):
        fail(f"no file at {src}")
    ckpt = load_checkpoint(src, trust_pickle)
    state, where = find_state_dict(ckpt, key)
    tensors: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    skipped: list = []
    flatten(state, "", tensors, skipped)
    if not tensors:
        fail(f"{src}: {where} holds no tensors")
    converted = OrderedDict((n, to_supported(n, t)) for n, t in tensors.items())
    changed = sorted({f"{tensors[n].dtype}->{t.dtype}" for n, t in converted.items() if t.dtype != tensors[n].dtype})
    metadata = {
        "format": "pytorch-state-dict",
        "source": os.path.basename(src),
        "source_entry": where,
        "converted_by": "tools/torch_to_safetensors.py",
        "torch_version": torch.__version__,
    }
    try:
        from safetensors.torch import save as st_save  # the reference writer, when installed
        blob = st_save(dict(converted), metadata)
    except ImportError:
        blob = serialize(converted, metadata)
    write_atomically(dst, blob)

    groups: "OrderedDict[str, int]" = OrderedDict()
    for n in converted:
        head = n.split(".", 1)[0] + "." if "." in n else n
        groups[head] = groups.get(head, 0) + 1
    print(f"wrote {dst}: {len(converted)} tensors from {where} of {src}"
          + (f"; converted {', '.join(changed)}" if changed else ""))
    print("  by first name component: " + ", ".join(f"{k} {v}" for k, v in groups.items()))
    if skipped:
        print(f"  skipped {len(skipped)} non-tensor entries: {', '.join(skipped[:10])}{' …' if len(skipped) > 10 else ''}")
    return converted


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Then: rawdistill teacher import --weights OUT.safetensors --arch resnet18 --normalization cifar100 --out teacher.safetensors")
    p.add_argument("checkpoint", help="the .pt / .pth / .ckpt file")
    p.add_argument("output", help="the safetensors file to write")
    p.add_argument("--key", help="path of the state dict inside the checkpoint, parts separated by '/' (default: the whole file if it is a state dict, else the first of " + ", ".join(STATE_DICT_KEYS) + ")")
    p.add_argument("--trust-pickle", action="store_true", help="load with full unpickling (runs code in the file; only for files you trust)")
    a = p.parse_args(argv)
    convert(a.checkpoint, a.output, a.key, a.trust_pickle)


if __name__ == "__main__":
    main()
