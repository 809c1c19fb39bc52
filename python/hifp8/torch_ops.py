"""The PyTorch operator ``torch.ops.hifp8.fake_quant`` for quantization-aware training.

Importing this module registers the operator (CPU and CUDA kernels, an autograd formula and, on
PyTorch 2.4+, a fake kernel for ``torch.compile``). The forward pass runs hifp8's 8-bit quantizer
(bit for bit ``hifp8.fake_quant``; on CUDA tensors the GPU kernels, on the tensor's current stream);
the backward pass is the clipped straight-through estimator: the gradient passes unchanged where the
input was represented and is zero where it was clipped (|x / scale| > the format's largest finite
value) or not finite.
"""

from __future__ import annotations

import math
from typing import Optional, Union

import torch

from . import _core

__all__ = ["fake_quant", "FakeQuantLinear"]

_SCHEMA = (
    "fake_quant(Tensor x, str format, Tensor? scale=None, str granularity='tensor', float target=0.0) -> Tensor"
)
_lib = torch.library.Library("hifp8", "DEF")
_lib.define(_SCHEMA)

_WIDE = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}


def _matrix_shape(shape) -> tuple[int, int]:
    """[rows, cols] with the leading dimensions folded into rows, as the kernels see a tensor."""
    cols = shape[-1] if len(shape) else 1
    return (math.prod(shape) // cols if cols else 0), cols


def _checked_scale(x: torch.Tensor, format: str, scale: Optional[torch.Tensor], granularity: str):
    """Validates the arguments (hifp8.Error naming the problem); the scales as contiguous float32."""
    if not x.is_floating_point():
        raise TypeError(f"hifp8::fake_quant needs a floating-point tensor, got {x.dtype}")
    _core.format_info(format)
    count = math.prod(_core.scale_shape(list(x.shape), granularity))
    if scale is None:
        return None
    if scale.numel() != count:
        raise _core.Error(
            f"granularity {granularity} needs {count} scales for shape {tuple(x.shape)}, got {scale.numel()}"
        )
    return scale.detach().to(device=x.device, dtype=torch.float32).contiguous()


def _fake_quant_cpu(x, format, scale=None, granularity="tensor", target=0.0):
    scale = _checked_scale(x, format, scale, granularity)
    work = x.detach().to(torch.float32).contiguous()
    out = torch.empty_like(work)
    _core.fake_quant(
        work.numpy(),
        format,
        granularity=granularity,
        scale=None if scale is None else scale.numpy(),
        target=target,
        out=out.numpy(),
    )
    return out.to(x.dtype)


def _fake_quant_cuda(x, format, scale=None, granularity="tensor", target=0.0):
    scale = _checked_scale(x, format, scale, granularity)
    wide = x.dtype in _WIDE
    work = (x if wide else x.to(torch.float32)).contiguous()
    out = torch.empty_like(work)
    rows, cols = _matrix_shape(work.shape)
    with torch.cuda.device(x.device):
        _core._cuda_fake_quant(
            work.data_ptr(),
            out.data_ptr(),
            _WIDE[work.dtype],
            rows,
            cols,
            format,
            granularity,
            0 if scale is None else scale.data_ptr(),
            target,
            torch.cuda.current_stream(x.device).cuda_stream,
        )
    return out if wide else out.to(x.dtype)


def _expanded_scale(scale: torch.Tensor, shape, granularity: str) -> torch.Tensor:
    """Each element's scale, broadcastable to `shape`."""
    g = _core.Granularity(granularity)
    rows, cols = _matrix_shape(shape)
    s = scale.to(torch.float32)
    if g.kind == "tensor":
        return s.reshape(())
    if g.kind in ("channel", "token"):
        s = s.reshape(rows, 1).expand(rows, cols)
    elif g.kind == "group":
        s = s.reshape(rows, cols // g.group_size, 1).expand(rows, cols // g.group_size, g.group_size)
    else:  # block: ragged at the edges
        grid = s.reshape(g.scale_shape(list(shape)))
        s = grid.repeat_interleave(g.block_rows, 0)[:rows].repeat_interleave(g.block_cols, 1)[:, :cols]
    return s.reshape(shape)


def _clip_mask(x: torch.Tensor, format: str, scale: Optional[torch.Tensor], granularity: str) -> torch.Tensor:
    """True where the quantizer represented x (not clipped, not NaN/Inf)."""
    if scale is None:  # a dynamic scale maps the amax to target <= max finite: nothing clips
        return torch.isfinite(x)
    limit = _core.format_info(format).max_finite
    return (x.to(torch.float32) / _expanded_scale(scale, x.shape, granularity)).abs() <= limit


def _setup_context(ctx, inputs, output):
    x, format, scale, granularity, _target = inputs
    ctx.format, ctx.granularity = format, granularity
    ctx.save_for_backward(x, scale)


def _backward(ctx, grad):
    x, scale = ctx.saved_tensors
    keep = _clip_mask(x, ctx.format, scale, ctx.granularity)
    return torch.where(keep, grad, torch.zeros((), dtype=grad.dtype, device=grad.device)), None, None, None, None


_lib.impl("fake_quant", _fake_quant_cpu, "CPU")
_lib.impl("fake_quant", _fake_quant_cuda, "CUDA")

if hasattr(torch.library, "register_autograd"):  # PyTorch 2.4+

    def _fake(x, format, scale=None, granularity="tensor", target=0.0):
        return torch.empty_like(x)

    torch.library.register_fake("hifp8::fake_quant", _fake, lib=_lib)
    torch.library.register_autograd("hifp8::fake_quant", _backward, setup_context=_setup_context, lib=_lib)
else:  # older PyTorch (Debian 12 ships 1.13): an autograd kernel in front of the CPU/CUDA ones

    class _FakeQuant(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, format, scale, granularity, target):
            _setup_context(ctx, (x, format, scale, granularity, target), None)
            below_autograd = torch._C._AutoDispatchBelowAutograd()  # a guard object in 1.x, not a context manager
            try:
                return torch.ops.hifp8.fake_quant(x, format, scale, granularity, target)
            finally:
                del below_autograd

        @staticmethod
        def backward(ctx, grad):
            return _backward(ctx, grad)

    def _autograd_kernel(x, format, scale=None, granularity="tensor", target=0.0):
        return _FakeQuant.apply(x, format, scale, granularity, target)

    _lib.impl("fake_quant", _autograd_kernel, "Autograd")


def fake_quant(
    x: torch.Tensor,
    format: Union[str, "_core.Format"],
    scale: Union[None, float, torch.Tensor] = None,
    granularity: str = "tensor",
    target: float = 0.0,
) -> torch.Tensor:
    """decode(encode_saturate(x / s)) * s in x's dtype, differentiable (clipped straight-through estimator).

    format: 'hif8', 'fp8_e4m3fn' ('e4m3'), 'fp8_e5m2' ('e5m2'), 'int8', ... or a hifp8.Format.
    scale: None computes each group's scale from its amax (amax / target, target 0 meaning the
    format's default: max finite, or 16 for HiF8); a number or a tensor of
    hifp8.scale_shape(x.shape, granularity) scales (e.g. calibrated) uses those.
    granularity: 'tensor', 'channel', 'token', 'group:N' or 'block:RxC'.
    The scale gets no gradient.
    """
    if isinstance(format, _core.Format):
        format = format.name
    if scale is not None and not isinstance(scale, torch.Tensor):
        scale = torch.full(_core.scale_shape(list(x.shape), granularity), float(scale), device=x.device)
    return torch.ops.hifp8.fake_quant(x, format, scale, granularity, float(target))


class FakeQuantLinear(torch.nn.Linear):
    """nn.Linear that computes with fake-quantized weights (and, optionally, inputs): QAT for a W8A8 model.

    The weight is fake-quantized per output channel (or `weight_granularity`) and the input per token
    (`input_granularity`, None to leave it) in `format`; the master weights stay in full precision.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        format: str = "fp8_e4m3fn",
        weight_granularity: str = "channel",
        input_granularity: Optional[str] = "token",
        device=None,
        dtype=None,
    ):
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
        self.format = _core.format_info(format).name
        self.weight_granularity = weight_granularity
        self.input_granularity = input_granularity

    @classmethod
    def from_linear(cls, linear: torch.nn.Linear, **options) -> "FakeQuantLinear":
        """A FakeQuantLinear with `linear`'s parameters (shared, not copied)."""
        q = cls(linear.in_features, linear.out_features, linear.bias is not None, device="meta", **options)
        q.weight, q.bias = linear.weight, linear.bias
        return q

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = fake_quant(self.weight, self.format, granularity=self.weight_granularity)
        if self.input_granularity is not None:
            x = fake_quant(x, self.format, granularity=self.input_granularity)
        return torch.nn.functional.linear(x, w, self.bias)

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, format={self.format}, weight_granularity={self.weight_granularity}, "
            f"input_granularity={self.input_granularity}"
        )
