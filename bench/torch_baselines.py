#!/usr/bin/env python3
"""PyTorch baselines for the CUDA benchmarks (bench/cuda_bench.cu), timed the same way: a sample is
10 back-to-back calls between two CUDA events, rotating buffers where the operands would fit in L2;
the median of 30 samples. Prints one line a measurement; --json FILE writes JSON lines."""
import json
import statistics
import sys

import torch

E4M3 = torch.float8_e4m3fn


def time_ms(fn, calls=10, samples=30):
    for i in range(3):
        fn(i)
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times, call = [], 0
    for _ in range(samples):
        start.record()
        for _ in range(calls):
            fn(call)
            call += 1
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) / calls)
    return statistics.median(times)


rows = []


def report(name, ms, metric, value):
    rows.append({"group": "torch", "name": name, "ms": ms, "metric": metric, "value": value})
    print(f"torch      {name:<52} {ms:9.4f} ms {value:10.1f} {metric}", flush=True)


def main():
    dev = "cuda"
    n = 50_000_000
    a = torch.randn(n, device=dev)
    b = torch.empty_like(a)
    ms = time_ms(lambda i: b.copy_(a))
    report("copy 200 MB device-to-device", ms, "TB/s", 2 * n * 4 / ms / 1e9)
    ms = time_ms(lambda i: a.to(E4M3))
    report("fp32 -> e4m3 cast 50M", ms, "Gelem/s", n / ms / 1e6)
    x = torch.randn(n, device=dev, dtype=torch.bfloat16)

    def dynamic(i):
        scale = x.abs().max().float() / 448.0
        return (x / scale).to(E4M3)

    ms = time_ms(dynamic)
    report("dynamic per-tensor bf16 -> e4m3 (amax, divide, cast) 50M", ms, "Gelem/s", n / ms / 1e6)
    del a, b, x

    for (name, nn, k) in [("gate/up 14336x4096", 14336, 4096), ("qkv 6144x4096", 6144, 4096),
                          ("o 4096x4096", 4096, 4096), ("down 4096x14336", 4096, 14336)]:
        copies = max(1, (400 << 20) // (nn * k * 2))
        w16 = [torch.randn(nn, k, device=dev, dtype=torch.bfloat16) * 0.02 for _ in range(copies)]
        w8 = [w.to(E4M3) for w in w16] + [w16[0].to(E4M3) for _ in range(copies)]
        one = torch.ones((), device=dev)
        for m in (1, 16):
            xm = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
            ms = time_ms(lambda i: torch.nn.functional.linear(xm, w16[i % len(w16)]))
            report(f"bf16 linear {name} m={m}", ms, "GB/s", nn * k * 2 / ms / 1e6)
            x8 = xm.to(E4M3)
            ms = time_ms(lambda i: torch._scaled_mm(x8, w8[i % len(w8)].t(), scale_a=one, scale_b=one,
                                                    out_dtype=torch.bfloat16))
            report(f"_scaled_mm e4m3 tensor {name} m={m}", ms, "GB/s", nn * k / ms / 1e6)
        del w16, w8

    for (m, nn, k) in [(8192, 8192, 8192), (1024, 14336, 4096)]:
        a16 = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
        b16 = torch.randn(nn, k, device=dev, dtype=torch.bfloat16) * 0.02
        flop = 2 * m * nn * k
        ms = time_ms(lambda i: a16 @ b16.t(), calls=5, samples=20)
        report(f"bf16 matmul {m}x{nn}x{k}", ms, "TFLOP/s", flop / ms / 1e9)
        a8, b8 = a16.to(E4M3), b16.to(E4M3)
        one = torch.ones((), device=dev)
        ms = time_ms(lambda i: torch._scaled_mm(a8, b8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16),
                     calls=5, samples=20)
        report(f"_scaled_mm e4m3 tensor scales {m}x{nn}x{k}", ms, "TFLOP/s", flop / ms / 1e9)
        sa = torch.ones(m, 1, device=dev)
        sb = torch.ones(1, nn, device=dev)
        ms = time_ms(lambda i: torch._scaled_mm(a8, b8.t(), scale_a=sa, scale_b=sb, out_dtype=torch.bfloat16),
                     calls=5, samples=20)
        report(f"_scaled_mm e4m3 row/col scales {m}x{nn}x{k}", ms, "TFLOP/s", flop / ms / 1e9)

    if len(sys.argv) > 2 and sys.argv[1] == "--json":
        with open(sys.argv[2], "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
