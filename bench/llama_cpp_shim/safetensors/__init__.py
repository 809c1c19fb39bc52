"""Just enough of the `safetensors` package for llama.cpp's convert_hf_to_gguf.py on Debian 12.

Debian 12 ships no python3-safetensors and PyPI is out of reach here, so bench/llama_cpp_peer.sh puts
this directory first on PYTHONPATH. It reads the format directly (an 8-byte little-endian header
length, a JSON header, then the raw tensor bytes) through a read-only memory map.
"""
import json
import mmap
import struct

import numpy as np
import torch

_NUMPY = {"F32": np.float32, "F16": np.float16, "BF16": np.int16, "I64": np.int64, "I32": np.int32,
          "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_, "F64": np.float64,
          "F8_E4M3": np.uint8, "F8_E5M2": np.uint8}


class _Slice:
    def __init__(self, file, name):
        self._file, self._name = file, name

    def get_dtype(self):
        return self._file._entry(self._name)["dtype"]

    def get_shape(self):
        return list(self._file._entry(self._name)["shape"])

    def __getitem__(self, index):
        return self._file.get_tensor(self._name)[index]


class safe_open:
    def __init__(self, path, framework="pt", device="cpu"):
        if framework != "pt" or device != "cpu":
            raise ValueError("this shim reads PyTorch tensors on the CPU only")
        self._fh = open(path, "rb")
        self._map = mmap.mmap(self._fh.fileno(), 0, access=mmap.ACCESS_READ)
        (length,) = struct.unpack("<Q", self._map[:8])
        self._header = json.loads(self._map[8:8 + length])
        self._header.pop("__metadata__", None)
        self._data_start = 8 + length

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # The converter reads tensors lazily after leaving the `with` block: the map stays open
        # until the last slice referring to it is gone.
        return False

    def _entry(self, name):
        return self._header[name]

    def keys(self):
        return list(self._header.keys())

    def get_slice(self, name):
        return _Slice(self, name)

    def get_tensor(self, name):
        entry = self._entry(name)
        begin, end = entry["data_offsets"]
        raw = np.frombuffer(self._map, dtype=_NUMPY[entry["dtype"]], count=(end - begin) // np.dtype(
            _NUMPY[entry["dtype"]]).itemsize, offset=self._data_start + begin).copy()
        tensor = torch.from_numpy(raw.reshape(entry["shape"]))
        if entry["dtype"] == "BF16":
            tensor = tensor.view(torch.bfloat16)
        return tensor
