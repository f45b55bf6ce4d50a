"""Minimal safetensors writer/reader, byte-compatible with the reference implementation.

The Python `safetensors` package is not installable here, so this module reimplements the
format (https://github.com/huggingface/safetensors) for the fixture scripts:

    8 bytes   N, little-endian u64: length of the JSON header
    N bytes   UTF-8 JSON object: {"__metadata__": {str: str}, name: {"dtype": "F32",
              "shape": [..], "data_offsets": [begin, end]}, ...}, padded with spaces (0x20)
              to a multiple of 8 bytes
    rest      data section; offsets are relative to its start; tensors tile it exactly

Like the reference `serialize`, tensors are laid out by descending dtype (reference enum
order, so F64 before F32 before I32 before U8), then by name, and the JSON is compact
(no spaces). Files written here load with `safetensors.torch.load_file` and with
RawDistill's `RawDistill.IO.Safetensors.Read`.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from typing import Dict, Mapping, Optional, Tuple

import numpy as np
import torch

MAX_HEADER_BYTES = 100_000_000

# Reference dtype enum order (safetensors/src/tensor.rs); the writer sorts by it, descending.
_DTYPE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
                "I32", "U32", "F32", "F64", "I64", "U64"]

# torch dtype <-> (safetensors name, little-endian numpy dtype). Only numpy-representable types.
_TORCH_TO_ST = {
    torch.float64: ("F64", "<f8"),
    torch.float32: ("F32", "<f4"),
    torch.float16: ("F16", "<f2"),
    torch.int64: ("I64", "<i8"),
    torch.int32: ("I32", "<i4"),
    torch.int16: ("I16", "<i2"),
    torch.int8: ("I8", "i1"),
    torch.uint8: ("U8", "u1"),
    torch.bool: ("BOOL", "?"),
}
_ST_TO_TORCH = {name: (dt, np_dt) for dt, (name, np_dt) in _TORCH_TO_ST.items()}


def serialize(tensors: Mapping[str, torch.Tensor], metadata: Optional[Mapping[str, str]] = None) -> bytes:
    """Returns the bytes of a safetensors file holding `tensors` and `metadata`."""
    if metadata is not None:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"metadata must map str to str, got {k!r}: {v!r}")
    items = []
    for name, t in tensors.items():
        if name == "__metadata__":
            raise ValueError("'__metadata__' cannot name a tensor")
        if t.dtype not in _TORCH_TO_ST:
            raise TypeError(f"tensor {name!r}: dtype {t.dtype} not supported by this writer")
        st_name, np_dt = _TORCH_TO_ST[t.dtype]
        data = t.detach().cpu().contiguous().numpy().astype(np_dt, copy=False).tobytes()
        items.append((name, st_name, list(t.shape), data))
    # Descending dtype, then name (byte order of UTF-8, as Rust's String Ord).
    items.sort(key=lambda it: (-_DTYPE_ORDER.index(it[1]), it[0].encode("utf-8")))

    header: Dict[str, object] = {}
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    offset = 0
    for name, st_name, shape, data in items:
        header[name] = {"dtype": st_name, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    header_bytes = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    header_bytes += b" " * ((8 - len(header_bytes) % 8) % 8)
    return struct.pack("<Q", len(header_bytes)) + header_bytes + b"".join(it[3] for it in items)


def save_file(tensors: Mapping[str, torch.Tensor], path: str, metadata: Optional[Mapping[str, str]] = None) -> None:
    """Writes a safetensors file atomically (temp file in the same folder, then rename)."""
    blob = serialize(tensors, metadata)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a saved file should be readable as usual
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def deserialize(blob: bytes) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """Parses safetensors bytes into ({name: tensor}, metadata), validating like the reference."""
    if len(blob) < 8:
        raise ValueError("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if n == 0 or n > MAX_HEADER_BYTES or 8 + n > len(blob):
        raise ValueError(f"bad header length {n}")
    text = blob[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        raise ValueError("header does not start with '{'")

    def no_duplicates(pairs):
        d = {}
        for k, v in pairs:
            if k in d:
                raise ValueError(f"duplicate key {k!r}")
            d[k] = v
        return d

    header = json.loads(text, object_pairs_hook=no_duplicates)
    metadata = header.pop("__metadata__", None) or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ValueError("__metadata__ must map str to str")
    data = blob[8 + n:]
    spans = sorted((tuple(info["data_offsets"]), name) for name, info in header.items())
    expected = 0
    for (begin, end), name in spans:
        if begin != expected or end < begin:
            raise ValueError(f"tensor {name!r}: offsets [{begin}, {end}] do not tile the data section")
        expected = end
    if expected != len(data):
        raise ValueError("tensors do not cover the data section")
    out = {}
    for name, info in header.items():
        dt, np_dt = _ST_TO_TORCH[info["dtype"]]
        begin, end = info["data_offsets"]
        shape = info["shape"]
        arr = np.frombuffer(data[begin:end], dtype=np_dt)
        if arr.size != int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"tensor {name!r}: byte length does not match shape {shape}")
        out[name] = torch.from_numpy(arr.copy().reshape(shape)).to(dt)
    return out, dict(metadata)


def load_file(path: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """Reads a safetensors file: ({name: tensor}, metadata)."""
    with open(path, "rb") as f:
        return deserialize(f.read())
