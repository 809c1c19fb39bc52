"""Benchmarks of the Python front, each against a baseline timed in the same run (median of several runs).

  numpy:  hifp8.encode / fake_quant on numpy arrays vs numpy copying the same bytes, and the fixed
          cost of one call on a tiny array (what the binding adds)
  torch:  torch.ops.hifp8.fake_quant forward and forward+backward vs PyTorch's own fake quantization
          (the float8 cast round trip with an amax scale, and fake_quantize_per_channel_affine for INT8),
          on the CPU and, when there is one, on the GPU; and a QAT training step of an MLP with
          FakeQuantLinear layers vs the same MLP with nn.Linear

  python3 bench/python_bench.py [--json FILE] [--quick] [--cuda-only]
Progress goes to stderr; a table to stdout.
"""

import argparse
import json
import statistics
import sys
import time

import numpy as np

import hifp8

RESULTS = []


def report(group, name, seconds, baseline_name=None, baseline_seconds=None, elements=None):
    row = {"group": group, "name": name, "ms": seconds * 1e3}
    if elements:
        row["Gelem_per_s"] = elements / seconds / 1e9
    if baseline_seconds:
        row["baseline"] = baseline_name
        row["baseline_ms"] = baseline_seconds * 1e3
        row["speedup_vs_baseline"] = baseline_seconds / seconds
    RESULTS.append(row)
    extra = f"  vs {baseline_name} {baseline_seconds * 1e3:.3f} ms = {baseline_seconds / seconds:.2f}x" if baseline_seconds else ""
    rate = f"  {row['Gelem_per_s']:.2f} Gelem/s" if elements else ""
    print(f"{group:6} {name:58} {seconds * 1e3:10.3f} ms{rate}{extra}", flush=True)


def median_time(fn, runs, sync=lambda: None, warmup=2):
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_numpy(quick):
    n = (1 << 24) if quick else (1 << 26)
    runs = 5 if quick else 11
    print(f"numpy: {n} elements", file=sys.stderr)
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    codes = np.empty(n, np.uint8)
    copy_dst = np.empty_like(x)
    copy = median_time(lambda: np.copyto(copy_dst, x), runs)
    report("numpy", "np.copyto float32 (baseline: memory traffic 8 B/elem)", copy, elements=n)
    for f in ("hif8", "fp8_e4m3fn"):
        t = median_time(lambda: hifp8.encode(x, f, out=codes), runs)
        report("numpy", f"encode {f} float32 -> codes (5 B/elem)", t, "np.copyto", copy, n)
        out = np.empty_like(x)
        t = median_time(lambda: hifp8.fake_quant(x, f, granularity="tensor", out=out), runs)
        report("numpy", f"fake_quant {f} tensor scale (amax pass + 8 B/elem)", t, "np.copyto", copy, n)
    tiny = np.ones(16, np.float32)
    tiny_codes = np.empty(16, np.uint8)
    per_call = median_time(lambda: [hifp8.encode(tiny, "hif8", out=tiny_codes) for _ in range(1000)], runs) / 1000
    empty = median_time(lambda: [np.copyto(tiny_codes, tiny_codes) for _ in range(1000)], runs) / 1000
    report("numpy", "one encode call on 16 elements (binding overhead)", per_call, "np.copyto of 16 B", empty)


def torch_reference(torch, x, dtype8, granularity):
    """PyTorch's own dynamic fake quantization: amax scale, cast round trip (what torchao-style QAT does)."""
    limit = torch.finfo(dtype8).max
    xf = x.float()
    amax = xf.abs().amax() if granularity == "tensor" else xf.abs().amax(dim=-1, keepdim=True)
    scale = (amax / limit).clamp(min=torch.finfo(torch.float32).tiny)
    return ((xf / scale).to(dtype8).float() * scale).to(x.dtype)


def ste(torch, x, q):
    """The usual straight-through formulation around a non-differentiable quantizer."""
    return x + (q - x).detach()


def bench_torch(quick, cuda_only):
    import torch
    import hifp8.torch_ops as ops

    devices = [] if cuda_only else ["cpu"]
    if torch.cuda.is_available() and hifp8.cuda_available():
        devices.append("cuda")
    has_fp8 = hasattr(torch, "float8_e4m3fn")
    for device in devices:
        cuda = device == "cuda"
        sync = torch.cuda.synchronize if cuda else (lambda: None)
        shape = (8192, 8192) if cuda and not quick else (2048, 4096)
        runs = 20 if cuda else (5 if quick else 9)
        n = shape[0] * shape[1]
        for dtype in ([torch.bfloat16, torch.float32] if cuda else [torch.float32]):
            print(f"torch {device}: {shape} {dtype}", file=sys.stderr)
            x = torch.randn(shape, device=device, dtype=dtype)
            copy = median_time(lambda: x.clone(), runs, sync)
            tag = f"{device} {str(dtype).replace('torch.', '')}"
            report("torch", f"{tag} x.clone() (baseline: memory traffic)", copy, elements=n)
            for granularity in ("tensor", "token"):
                ours = median_time(lambda: ops.fake_quant(x, "fp8_e4m3fn", granularity=granularity), runs, sync)
                if has_fp8:
                    ref = median_time(lambda: torch_reference(torch, x, torch.float8_e4m3fn, granularity), runs, sync)
                    report("torch", f"{tag} fake_quant e4m3 {granularity} fwd", ours, "torch float8 round trip", ref, n)
                else:
                    report("torch", f"{tag} fake_quant e4m3 {granularity} fwd", ours, "x.clone()", copy, n)
                ours_hif8 = median_time(lambda: ops.fake_quant(x, "hif8", granularity=granularity), runs, sync)
                report("torch", f"{tag} fake_quant hif8 {granularity} fwd", ours_hif8, "x.clone()", copy, n)
            # INT8 per channel: PyTorch's own fake-quant kernel with the same scales
            scale = (x.float().abs().amax(dim=-1) / 127).clamp(min=1e-12)
            zero = torch.zeros(shape[0], dtype=torch.int32, device=device)
            xf = x.float()
            ref = median_time(lambda: torch.fake_quantize_per_channel_affine(xf, scale, zero, 0, -127, 127), runs, sync)
            ours = median_time(lambda: ops.fake_quant(xf, "int8", scale=scale.reshape(-1, 1), granularity="channel"),
                               runs, sync)
            report("torch", f"{device} float32 fake_quant int8 channel, given scales", ours,
                   "fake_quantize_per_channel_affine", ref, n)
            # forward + backward
            xg = x.clone().requires_grad_()
            grad = torch.randn_like(x)

            def ours_step():
                xg.grad = None
                ops.fake_quant(xg, "fp8_e4m3fn", granularity="token").backward(grad)

            t = median_time(ours_step, runs, sync)
            if has_fp8:
                def ref_step():
                    xg.grad = None
                    ste(torch, xg, torch_reference(torch, xg.detach(), torch.float8_e4m3fn, "token")).backward(grad)

                report("torch", f"{tag} fake_quant e4m3 token fwd+bwd (STE)", t, "torch round trip + STE",
                       median_time(ref_step, runs, sync), n)
            else:
                report("torch", f"{tag} fake_quant e4m3 token fwd+bwd (STE)", t, "x.clone()", copy, n)
        bench_qat_step(torch, ops, device, sync, quick)


def bench_qat_step(torch, ops, device, sync, quick):
    width = 4096 if device == "cuda" else 1024
    batch = 4096 if device == "cuda" else 256
    runs = 20 if device == "cuda" else 5
    print(f"QAT step {device}: MLP {width} wide, batch {batch}", file=sys.stderr)

    def mlp(linear):
        return torch.nn.Sequential(linear(width, 4 * width), torch.nn.GELU(), linear(4 * width, width)).to(device)

    def step_time(model):
        opt = torch.optim.SGD(model.parameters(), lr=1e-3)
        x = torch.randn(batch, width, device=device)

        def step():
            opt.zero_grad()
            model(x).square().mean().backward()
            opt.step()

        return median_time(step, runs, sync)

    base = step_time(mlp(torch.nn.Linear))
    for format in ("fp8_e4m3fn", "hif8"):
        ours = step_time(mlp(lambda i, o: ops.FakeQuantLinear(i, o, format=format)))
        report("qat", f"{device} MLP {width}x{4 * width} step, W8A8 fake-quant {format}", ours, "nn.Linear step", base)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", help="write the rows as JSON lines")
    p.add_argument("--quick", action="store_true", help="smaller sizes, fewer runs")
    p.add_argument("--cuda-only", action="store_true", help="skip the numpy and CPU torch benchmarks")
    a = p.parse_args()
    if not a.cuda_only:
        bench_numpy(a.quick)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("PyTorch not installed: torch benchmarks skipped", file=sys.stderr)
    else:
        bench_torch(a.quick, a.cuda_only)
    if a.json:
        with open(a.json, "w") as f:
            for row in RESULTS:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
