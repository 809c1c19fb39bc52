"""HiF8Linear: a linear layer that keeps 8-bit weight codes and their scales and computes with them.

A native hif8 checkpoint stores each quantized Linear as ``weight`` (uint8 codes) and ``weight_scale``
(float32). ``HiF8Linear`` holds exactly those tensors, so the weights take one byte each on the device,
and multiplies through the operator ``torch.ops.hifp8.w8a16_linear``:

- CUDA tensors: up to 16 rows (decoding) hifp8's W8A16 kernel, which decodes the codes in registers
  and feeds the tensor cores; more rows (prefill) decode the weight to a transient bf16 copy and run
  cuBLAS, as hifp8's GPU engine does.
- CPU tensors: the weight is dequantized by hifp8's CPU kernels (``hifp8.QuantizedTensor``), then
  ``torch.nn.functional.linear``.

The codes are kept in the W8A16 kernel's packed order (rows padded to 16, columns to 64, each 64-byte
run interleaved; ``pack_codes``); ``state_dict`` gives them back row-major as the checkpoint has them.

``enable_qat()`` turns the layer into a trainable one for quantization-aware training: bf16 master
weights initialised from the dequantized codes, the forward pass through ``torch.ops.hifp8.fake_quant``
(clipped straight-through estimator) with the layer's format, granularity and target, and a
``state_dict`` that re-encodes the master weights into codes and scales (``hifp8.quantize``, the same
values the forward pass used).
"""

from __future__ import annotations

import re
from typing import Callable, Optional

import numpy as np
import torch

from . import _core
from .torch_ops import _lib, fake_quant

__all__ = [
    "HiF8Linear",
    "disable_qat",
    "enable_qat",
    "pack_codes",
    "quantize_model",
    "quantized_layers",
    "unpack_codes",
]

_ROWS, _RUN = 16, 64  # the W8A16 kernel's row tile and interleaved run (cuda::w8_layout)
_DECODE_ROWS = 16  # up to this many rows the kernel runs on the codes; above, dequantize + GEMM
_BIT_DECODED = ("fp8_e4m3fn", "fp8_e5m2")  # formats the kernel decodes by moving bits when no code is NaN/Inf

_lib.define(
    "w8a16_linear(Tensor x, Tensor codes, Tensor scale, str format, str granularity, int out_features, "
    "int in_features, bool finite_codes=False) -> Tensor"
)


def pack_codes(codes: torch.Tensor) -> torch.Tensor:
    """Row-major [n, k] codes -> the W8A16 kernel's layout [n padded to 16, k padded to 64].

    Within each 64-byte run the logical column 16 j + 4 t + i is stored at 16 t + 4 j + i, so that the
    16 bytes one thread loads feed four tensor-core steps (see src/kernel/cuda/gemv_w8.cu). Padding
    holds code 0 (+0.0 in every format).
    """
    n, k = codes.shape
    n_p, k_p = -(-n // _ROWS) * _ROWS, -(-k // _RUN) * _RUN
    if (n_p, k_p) != (n, k):
        codes = torch.nn.functional.pad(codes, (0, k_p - k, 0, n_p - n))
    return codes.reshape(n_p, k_p // _RUN, 4, 4, 4).transpose(2, 3).reshape(n_p, k_p)


def unpack_codes(packed: torch.Tensor, n: int, k: int) -> torch.Tensor:
    """The inverse of pack_codes: row-major [n, k] codes."""
    n_p, k_p = packed.shape
    return packed.reshape(n_p, k_p // _RUN, 4, 4, 4).transpose(2, 3).reshape(n_p, k_p)[:n, :k].contiguous()


def _cuda_dequantized(codes, scale, format, granularity, n, k, finite_codes, stream) -> torch.Tensor:
    """bf16 [n, k] from packed codes on the GPU (the current device; scale float32 and contiguous)."""
    w = torch.empty(n, k, dtype=torch.bfloat16, device=codes.device)
    _core._cuda_dequantize_w8(codes.data_ptr(), n, k, scale.data_ptr(), format, granularity, finite_codes,
                              w.data_ptr(), stream)
    return w


def _dequantize(codes, scale, format, granularity, n, k) -> torch.Tensor:
    """[n, k] weights from packed codes: float32 on the CPU (hifp8's CPU kernels, exact), bf16 on CUDA
    (the GPU decode)."""
    scale = scale.detach().to(device=codes.device, dtype=torch.float32).contiguous()
    if codes.is_cuda:
        with torch.cuda.device(codes.device):
            stream = torch.cuda.current_stream(codes.device).cuda_stream
            return _cuda_dequantized(codes, scale, format, granularity, n, k, False, stream)
    rows = unpack_codes(codes.detach(), n, k).numpy()
    q = _core.QuantizedTensor(rows, scale.numpy().reshape(_core.scale_shape([n, k], granularity)), format, granularity)
    return torch.from_numpy(q.dequantize(dtype="float32"))


def _w8a16_linear_cpu(x, codes, scale, format, granularity, out_features, in_features, finite_codes=False):
    w = _dequantize(codes, scale, format, granularity, out_features, in_features)
    return torch.nn.functional.linear(x.to(torch.float32), w).to(x.dtype)


def _w8a16_linear_cuda(x, codes, scale, format, granularity, out_features, in_features, finite_codes=False):
    # Decoding calls this a few hundred times per token, so it avoids every avoidable host-side step.
    n, k = out_features, in_features
    if x.shape[-1] != k:
        raise _core.Error(f"hifp8::w8a16_linear: input has {x.shape[-1]} features, the weight {k}")
    rows = x.reshape(-1, k)
    if rows.dtype != torch.bfloat16 or not rows.is_contiguous():
        rows = rows.to(torch.bfloat16).contiguous()
    if scale.dtype != torch.float32 or not scale.is_contiguous():
        scale = scale.to(torch.float32).contiguous()
    m = rows.shape[0]
    if x.device.index != torch.cuda.current_device():
        with torch.cuda.device(x.device):
            return _w8a16_linear_cuda(x, codes, scale, format, granularity, n, k, finite_codes)
    stream = torch.cuda.current_stream().cuda_stream
    if m <= _DECODE_ROWS:
        y = torch.empty(m, n, dtype=torch.bfloat16, device=x.device)
        if m:
            _core._cuda_w8a16(rows.data_ptr(), m, y.data_ptr(), codes.data_ptr(), n, k, scale.data_ptr(), format,
                              granularity, finite_codes, stream)
    else:
        y = rows @ _cuda_dequantized(codes, scale, format, granularity, n, k, finite_codes, stream).t()
    y = y.reshape(*x.shape[:-1], n)
    return y if y.dtype == x.dtype else y.to(x.dtype)


_lib.impl("w8a16_linear", _w8a16_linear_cpu, "CPU")
_lib.impl("w8a16_linear", _w8a16_linear_cuda, "CUDA")
if hasattr(torch.library, "register_fake"):  # PyTorch 2.4+: shapes for torch.compile

    def _w8a16_linear_fake(x, codes, scale, format, granularity, out_features, in_features, finite_codes=False):
        return x.new_empty(*x.shape[:-1], out_features)

    torch.library.register_fake("hifp8::w8a16_linear", _w8a16_linear_fake, lib=_lib)


def _compiling() -> bool:
    compiler = getattr(torch, "compiler", None)
    return bool(compiler and hasattr(compiler, "is_compiling") and compiler.is_compiling())


class HiF8Linear(torch.nn.Module):
    """y = x . dequant(codes, scales)^T (+ bias) with the codes and scales of a native hif8 checkpoint.

    format: a hifp8 format name (``hif8`` for native checkpoints); granularity: the scales'
    ('channel', 'tensor', 'group:N', 'block:RxC'); target: the value each group's amax was mapped to
    (0: the format's default), used when QAT re-encodes the weights.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = False,
        *,
        format: str = "hif8",
        granularity: str = "channel",
        target: float = 0.0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.format = _core.format_info(format).name
        self.granularity = str(_core.Granularity(granularity))  # canonical text; hifp8.Error when malformed
        self.target = float(target)
        codes = torch.zeros(out_features, in_features, dtype=torch.uint8, device=device)
        scale = torch.ones(_core.scale_shape([out_features, in_features], self.granularity), device=device)
        self.weight = torch.nn.Parameter(codes, requires_grad=False)
        self.weight_scale = torch.nn.Parameter(scale, requires_grad=False)
        self.bias = torch.nn.Parameter(torch.zeros(out_features, device=device, dtype=dtype)) if bias else None
        self.packed = False
        self.master_weight: Optional[torch.nn.Parameter] = None
        self._finite_codes = False  # no code decodes to NaN/Inf: the kernel may decode E4M3/E5M2 by moving bits

    @classmethod
    def from_linear(cls, linear: torch.nn.Linear, **options) -> "HiF8Linear":
        """The layer `linear` becomes when its weight is quantized with hifp8.quantize (options as __init__)."""
        layer = cls(linear.in_features, linear.out_features, linear.bias is not None, **options)
        layer.load_weight(linear.weight)
        if linear.bias is not None:
            layer.bias = torch.nn.Parameter(linear.bias.detach().clone())
        return layer.to(linear.weight.device)

    def load_weight(self, weight: torch.Tensor) -> None:
        """Quantizes `weight` ([out, in], any float dtype) into this layer's codes and scales."""
        codes, scale = self._quantized(weight)
        self.weight = torch.nn.Parameter(codes.to(self.weight.device), requires_grad=False)
        self.weight_scale = torch.nn.Parameter(scale.to(self.weight.device), requires_grad=False)
        self.packed = False

    def _quantized(self, weight: torch.Tensor):
        w = weight.detach().to(device="cpu", dtype=torch.float32).contiguous().numpy()
        q = _core.quantize(w, self.format, self.granularity, target=self.target)
        return torch.from_numpy(np.array(q.codes)), torch.from_numpy(np.array(q.scales))

    def pack_(self) -> "HiF8Linear":
        """Puts the codes into the W8A16 kernel's order (in place; done by the first forward otherwise)."""
        if not self.packed:
            self.weight_scale.requires_grad_(False)  # a loader may have made it trainable; it is data
            codes = self.weight.data
            if self.format in _BIT_DECODED:
                finite = torch.from_numpy(np.isfinite(_core.format_info(self.format).values())).to(codes.device)
                self._finite_codes = bool(finite[codes.long()].all())
            self.weight = torch.nn.Parameter(pack_codes(codes), requires_grad=False)
            self.packed = True
        return self

    def codes(self) -> torch.Tensor:
        """The codes row-major [out, in], as the checkpoint stores them."""
        w = self.weight.detach()
        return unpack_codes(w, self.out_features, self.in_features) if self.packed else w

    def dequantized_weight(self, dtype: torch.dtype = torch.bfloat16) -> torch.Tensor:
        """The weight the layer computes with, [out, in] in `dtype`."""
        if self.master_weight is not None:
            return self._fake_quantized_master().detach().to(dtype)
        self.pack_()
        # The GPU decode writes bf16; a wider dtype is decoded exactly by the CPU kernels.
        codes = self.weight if dtype in (torch.bfloat16, torch.float16) else self.weight.cpu()
        w = _dequantize(codes, self.weight_scale, self.format, self.granularity, self.out_features, self.in_features)
        return w.to(device=self.weight.device, dtype=dtype)

    def to_linear(self, dtype: torch.dtype = torch.bfloat16) -> torch.nn.Linear:
        """A plain nn.Linear with the dequantized weight."""
        device = self.weight.device
        linear = torch.nn.Linear(self.in_features, self.out_features, self.bias is not None, device="meta")
        linear.weight = torch.nn.Parameter(self.dequantized_weight(dtype).to(device))
        if self.bias is not None:
            linear.bias = torch.nn.Parameter(self.bias.detach().to(dtype))
        return linear

    def enable_qat(self, dtype: torch.dtype = torch.bfloat16) -> torch.nn.Parameter:
        """Switches to training: trainable master weights from the dequantized codes; returns them."""
        if self.master_weight is None:
            self.master_weight = torch.nn.Parameter(self.dequantized_weight(dtype))
        return self.master_weight

    def disable_qat(self) -> None:
        """Re-encodes the master weights into the codes and scales and drops them (back to W8A16)."""
        if self.master_weight is not None:
            self.load_weight(self.master_weight)
            self.master_weight = None

    def _fake_quantized_master(self) -> torch.Tensor:
        return fake_quant(self.master_weight, self.format, granularity=self.granularity, target=self.target)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.master_weight is not None:
            y = torch.nn.functional.linear(x, self._fake_quantized_master().to(x.dtype))
        elif x.is_cuda and self.packed and not _compiling():  # the operator's CUDA kernel without the dispatcher
            y = _w8a16_linear_cuda(x, self.weight, self.weight_scale, self.format, self.granularity,
                                   self.out_features, self.in_features, self._finite_codes)
        else:
            self.pack_()
            y = torch.ops.hifp8.w8a16_linear(x, self.weight, self.weight_scale, self.format, self.granularity,
                                             self.out_features, self.in_features, self._finite_codes)
        return y if self.bias is None else y + self.bias.to(y.dtype)

    # The state dict is the checkpoint's: row-major codes and their scales (re-encoded from the master
    # weights in QAT mode); packing and master weights are this module's business.
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        if self.master_weight is not None:
            codes, scale = self._quantized(self.master_weight)
        else:
            codes, scale = self.codes(), self.weight_scale.detach()
        destination[prefix + "weight"] = codes.to(self.weight.device)
        destination[prefix + "weight_scale"] = scale.to(self.weight.device)
        if self.bias is not None:
            destination[prefix + "bias"] = self.bias if keep_vars else self.bias.detach()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        self.master_weight = None
        if self.packed:  # the loaded codes are row-major: take them in that shape
            self.weight = torch.nn.Parameter(self.codes(), requires_grad=False)
            self.packed = False
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        mode = ", qat" if self.master_weight is not None else ""
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, "
            f"format={self.format}, granularity={self.granularity}{mode}"
        )

    @property
    def weight_bytes(self) -> int:
        """Bytes of the codes and scales on the device."""
        return self.weight.numel() * self.weight.element_size() + self.weight_scale.numel() * 4


def is_ignored(name: str, patterns) -> bool:
    """Whether module `name` is in an ignore list: an exact name (or its last components), or 're:REGEX'
    matching the whole name, as in hifp8 quantize's --ignore and the checkpoint's ignore list."""
    for p in patterns:
        if p.startswith("re:") and re.fullmatch(p[3:], name):
            return True
        if name == p or name.endswith("." + p):
            return True
    return False


def replace_modules(model: torch.nn.Module, kind: type, make: Callable) -> None:
    """Replaces each submodule of type `kind` by make(name, module), unless that returns None."""
    for name, module in [(name, m) for name, m in model.named_modules() if isinstance(m, kind)]:
        replacement = make(name, module)
        if replacement is not None:
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, child, replacement)


def quantized_layers(model: torch.nn.Module) -> list:
    """(name, HiF8Linear) for every quantized layer of `model`."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, HiF8Linear)]


def quantize_model(model: torch.nn.Module, format: str = "hif8", granularity: str = "channel", target: float = 0.0,
                   ignore=("lm_head",)) -> torch.nn.Module:
    """Replaces every nn.Linear not in `ignore` by a HiF8Linear with its weight quantized (in place)."""
    replace_modules(model, torch.nn.Linear, lambda name, linear: None if is_ignored(name, ignore) else
                    HiF8Linear.from_linear(linear, format=format, granularity=granularity, target=target))
    return model


def dequantize_layers(model: torch.nn.Module, dtype: torch.dtype = torch.bfloat16) -> torch.nn.Module:
    """Replaces every HiF8Linear by a plain nn.Linear with its dequantized weight in `dtype` (in place)."""
    replace_modules(model, HiF8Linear, lambda name, layer: layer.to_linear(dtype))
    return model


def enable_qat(model: torch.nn.Module, dtype: torch.dtype = torch.bfloat16) -> list:
    """Makes every HiF8Linear trainable (master weights from its codes); returns the new parameters."""
    return [layer.enable_qat(dtype) for _, layer in quantized_layers(model)]


def disable_qat(model: torch.nn.Module) -> None:
    """Re-encodes every trained HiF8Linear into codes and scales and drops the master weights."""
    for _, layer in quantized_layers(model):
        layer.disable_qat()
