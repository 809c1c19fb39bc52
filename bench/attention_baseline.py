#!/usr/bin/env python3
"""PyTorch's scaled_dot_product_attention on the shapes `cuda_bench attention` times (the peer of the
fused prompt attention): Llama-3-8B's 32 query heads over 8 KV heads, head_dim 128, bf16, causal,
prompts of 512 and 4096 tokens; and one decode step of 16 sequences at 4096 positions. Timed like
cuda_bench: calls between CUDA events, the median of 20 samples of 5 calls."""
import statistics

import torch
import torch.nn.functional as F


def time_ms(fn, calls=5, samples=20):
    for _ in range(3):
        fn()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(samples):
        start.record()
        for _ in range(calls):
            fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) / calls)
    return statistics.median(times)


def main():
    torch.manual_seed(0)
    heads, kv_heads, hd = 32, 8, 128
    for rows in (512, 4096):
        q = torch.randn(1, heads, rows, hd, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(1, kv_heads, rows, hd, device="cuda", dtype=torch.bfloat16)
        v = torch.randn(1, kv_heads, rows, hd, device="cuda", dtype=torch.bfloat16)
        ms = time_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True))
        flop = 4.0 * heads * hd * rows * (rows + 1) / 2
        print(f"torch SDPA prefill {rows} tokens, 32/8 heads, d 128: {ms:.4f} ms, {flop / ms / 1e9:.1f} TFLOP/s")
    q = torch.randn(16, heads, 1, hd, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(16, kv_heads, 4096, hd, device="cuda", dtype=torch.bfloat16)
    v = torch.randn(16, kv_heads, 4096, hd, device="cuda", dtype=torch.bfloat16)
    ms = time_ms(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))
    print(f"torch SDPA decode 16 x 1 query over 4096 positions, 32/8 heads, d 128: {ms:.4f} ms")


if __name__ == "__main__":
    main()
