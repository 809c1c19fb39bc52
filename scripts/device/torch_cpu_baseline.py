"""PyTorch's own float32 <-> FP8 casts on one CPU core: the baseline for `hifp8 bench kernels --threads 1`
in the same run, and an independent oracle for the encoders (writes inputs and PyTorch's codes).

usage: python3 torch_cpu_baseline.py OUTDIR
"""
import json
import sys
import time
from pathlib import Path

import torch

out = Path(sys.argv[1])
torch.set_num_threads(1)
n = 64 << 20
gen = torch.Generator().manual_seed(0)
x = torch.randn(n, generator=gen)


def median_seconds(fn, runs=7):
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


results = {"torch": torch.__version__, "elements": n, "threads": 1}
results["memcpy_clone_gb_per_s"] = 2 * 4 * n / median_seconds(lambda: x.clone()) / 1e9
for name, dtype in [("fp8_e4m3fn", torch.float8_e4m3fn), ("fp8_e5m2", torch.float8_e5m2)]:
    codes = x.to(dtype)
    results[f"{name}_encode_gelem_per_s"] = n / median_seconds(lambda: x.to(dtype)) / 1e9
    results[f"{name}_decode_gelem_per_s"] = n / median_seconds(lambda: codes.to(torch.float32)) / 1e9
    print(f"torch 1 core {name}: encode {results[f'{name}_encode_gelem_per_s']:.3f} Gelem/s, "
          f"decode {results[f'{name}_decode_gelem_per_s']:.3f} Gelem/s", flush=True)

# Cross-check inputs: uniformly random float32 bit patterns (every exponent, NaN, Inf, subnormals).
bits = torch.randint(-(2**31), 2**31 - 1, (1 << 22,), dtype=torch.int32, generator=gen)
values = bits.view(torch.float32)
values.numpy().tofile(out / "xcheck.f32")
values.to(torch.float8_e4m3fn).view(torch.uint8).numpy().tofile(out / "torch_e4m3fn.bin")
values.to(torch.float8_e5m2).view(torch.uint8).numpy().tofile(out / "torch_e5m2.bin")
(out / "torch_baseline.json").write_text(json.dumps(results, indent=2))
print(json.dumps(results, indent=2))
