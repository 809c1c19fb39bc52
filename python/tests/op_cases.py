"""Cases and checks shared by the CPU and CUDA tests of torch.ops.hifp8.fake_quant."""

import torch

import hifp8

# (granularity, shape): every granularity, leading dimensions folded, ragged blocks, odd sizes.
CASES = [
    ("tensor", (3, 5, 7)),
    ("channel", (64, 96)),
    ("token", (2, 5, 128)),
    ("group:32", (6, 128)),
    ("block:16x8", (33, 17)),
    ("block", (130, 260)),
    ("tensor", (0, 8)),
]
DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def heavy_tailed(shape, dtype=torch.float32, device="cpu", generator=None):
    x = torch.distributions.StudentT(3.0).sample(shape) * 0.02
    return x.to(dtype=dtype, device=device)


def expected_gradient(x, grad, format, scale, granularity):
    """The clipped straight-through estimator, written from its definition: grad where
    |x / s| <= max finite (s the element's scale), 0 elsewhere and where x is not finite."""
    x64 = x.detach().double().cpu()
    limit = hifp8.format_info(format).max_finite
    if scale is None:
        keep = torch.isfinite(x64)
    else:
        g = hifp8.Granularity(granularity)
        cols = x64.shape[-1] if x64.dim() else 1
        flat, s = x64.reshape(-1, cols), scale.detach().double().cpu()
        per = torch.empty_like(flat)
        for r in range(flat.shape[0]):
            for c in range(cols):
                if g.kind == "tensor":
                    per[r, c] = s.reshape(-1)[0]
                elif g.kind in ("channel", "token"):
                    per[r, c] = s.reshape(-1)[r]
                elif g.kind == "group":
                    per[r, c] = s.reshape(flat.shape[0], -1)[r, c // g.group_size]
                else:
                    grid = s.reshape(g.scale_shape(list(x64.shape)))
                    per[r, c] = grid[r // g.block_rows, c // g.block_cols]
        # the kernel divides in float32: so does the reference, then compares exactly
        quotient = (flat.float() / per.float()).double()
        keep = (quotient.abs() <= limit).reshape(x64.shape)
    return (grad.detach().cpu() * keep.to(grad.dtype)).to(grad.dtype)
