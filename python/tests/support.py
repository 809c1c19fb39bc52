"""What the Python tests share: where ../shared and the CLI are, temporary folders, safetensors reading.

A test that needs ../shared or the CLI and cannot find it fails, naming what it looked for.
"""

import json
import os
import pathlib
import shutil
import struct
import tempfile
import unittest

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[2]


def shared_path(relative: str) -> pathlib.Path:
    root = pathlib.Path(os.environ.get("HIFP8_SHARED_DIR", REPO.parent / "shared"))
    path = root / relative
    if not path.exists():
        raise AssertionError(f"shared reference data missing: {path} (set HIFP8_SHARED_DIR or check out ../shared)")
    return path


def cli() -> str:
    path = os.environ.get("HIFP8_CLI", "")
    if not path or not os.access(path, os.X_OK):
        raise AssertionError(f"the hifp8 CLI is needed for this test: set HIFP8_CLI (got {path!r})")
    return path


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="hifp8-py-"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


_NUMPY_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "U8": np.uint8, "F8_E4M3": np.uint8,
                 "F8_E5M2": np.uint8, "I8": np.int8, "I64": np.int64, "I32": np.int32}


def read_safetensors(path) -> dict:
    """name -> numpy array (BF16 as uint16 bits, F8 as uint8 codes); written here so the test does not
    depend on the library it checks."""
    data = pathlib.Path(path).read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[8 + header_len + begin: 8 + header_len + end]
        tensors[name] = np.frombuffer(raw, dtype=_NUMPY_DTYPES[info["dtype"]]).reshape(info["shape"])
    return tensors


def read_checkpoint(directory) -> dict:
    tensors = {}
    for f in sorted(pathlib.Path(directory).glob("*.safetensors")):
        tensors.update(read_safetensors(f))
    return tensors


def random_wide(shape, dtype, rng) -> np.ndarray:
    """Heavy-tailed values with ±0, ±Inf, NaN, subnormals and overflow among them, as `dtype`
    (bfloat16: uint16 bit patterns, rounded to nearest even)."""
    x = (rng.standard_t(3, size=shape) * 0.02).astype(np.float32).ravel()
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -3e-39, 1e6, -7e4, 448.0, 57344.0],
                        dtype=np.float32)
    x[: min(x.size, specials.size)] = specials[: x.size]
    rng.shuffle(x)
    x = x.reshape(shape)
    if dtype == "float32":
        return x
    if dtype == "float16":
        with np.errstate(over="ignore"):
            return x.astype(np.float16)
    bits = x.view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    rounded[np.isnan(x)] = 0x7FC0
    return rounded.astype(np.uint16)


def widen(x: np.ndarray) -> np.ndarray:
    """float32 values of a float32 / float16 / bfloat16 (uint16) array."""
    if x.dtype == np.uint16:
        return (x.astype(np.uint32) << 16).view(np.float32)
    return x.astype(np.float32)
