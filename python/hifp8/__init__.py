"""hifp8: 8-bit floating-point quantization (HiFloat8, OCP FP8 E4M3/E5M2, INT8) from Python.

The C++ core of the hifp8 toolkit over numpy arrays: the format registry, bit-exact encode/decode,
fake quantization and QuantizedTensor for every granularity, and checkpoint conversion with the
CLI's options. ``hifp8.torch_ops`` adds the PyTorch operator ``torch.ops.hifp8.fake_quant`` with a
clipped straight-through gradient for quantization-aware training. See docs/python.md.
"""

from ._core import (
    Error,
    Format,
    Granularity,
    Progress,
    QuantizedTensor,
    cuda_available,
    cuda_device,
    decode,
    encode,
    fake_quant,
    format_info,
    formats,
    quantize,
    quantize_checkpoint,
    scale_shape,
    schemes,
)
from ._core import __version__

__all__ = [
    "Error",
    "Format",
    "Granularity",
    "Progress",
    "QuantizedTensor",
    "cuda_available",
    "cuda_device",
    "decode",
    "encode",
    "fake_quant",
    "format_info",
    "formats",
    "quantize",
    "quantize_checkpoint",
    "scale_shape",
    "schemes",
]
