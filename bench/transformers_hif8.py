"""transformers with a native hif8 checkpoint (hifp8.transformers) against the bf16 original, same run.

For each model directory: from_pretrained with the given device_map, GPU memory per device after
loading, the bytes of the linear weights, prefill time of one PROMPT-token sequence, and greedy decode
tokens/s (generate, NEW tokens after a PROMPT-token prompt) at each batch size; medians of --rounds.

usage: python3 bench/transformers_hif8.py --device-map auto|cuda:0 DIR [DIR ...] [--json OUT]
"""

import argparse
import json
import statistics
import sys
import time

import torch
from transformers import AutoModelForCausalLM

import hifp8.transformers  # noqa: F401  (registers quant_method "hif8")
from hifp8.quantized_linear import HiF8Linear


def timed(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def linear_bytes(model) -> int:
    total = 0
    for name, m in model.named_modules():
        if isinstance(m, HiF8Linear):
            total += m.weight_bytes
        elif isinstance(m, torch.nn.Linear) and not name.endswith("lm_head"):
            total += m.weight.numel() * m.weight.element_size()
    return total


def measure(path: str, a) -> dict:
    for i in range(torch.cuda.device_count()):
        torch.empty(0, device=f"cuda:{i}")  # a context on every GPU, so that the statistics exist
        torch.cuda.reset_peak_memory_stats(i)
    before = [torch.cuda.memory_allocated(i) for i in range(torch.cuda.device_count())]
    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16, device_map=a.device_map).eval()
    load_s = time.perf_counter() - start
    memory = [torch.cuda.memory_allocated(i) - b for i, b in enumerate(before)]
    first = next(model.parameters()).device
    vocab = model.config.vocab_size
    prompt = torch.randint(3, vocab, (1, a.prompt), generator=torch.Generator().manual_seed(0)).to(first)
    result = {"model": path, "device_map": a.device_map, "load_s": round(load_s, 1),
              "memory_gib_per_gpu": [round(m / 2**30, 3) for m in memory], "linear_weight_gib": linear_bytes(model) / 2**30}
    with torch.no_grad():
        result["prefill_tok_s"] = a.prompt / timed(lambda: model(prompt), a.rounds)
        for batch in a.batch:
            ids = prompt.repeat(batch, 1)

            def generate():
                model.generate(ids, max_new_tokens=a.new, min_new_tokens=a.new, do_sample=False)

            generate()  # warm-up
            seconds = timed(generate, a.rounds) - timed(lambda: model(ids), a.rounds)  # less the prefill
            result[f"decode_b{batch}_tok_s"] = batch * a.new / seconds
    result["peak_gib_per_gpu"] = [round(torch.cuda.max_memory_allocated(i) / 2**30, 3)
                                  for i in range(torch.cuda.device_count())]
    del model
    torch.cuda.empty_cache()
    print(json.dumps(result), flush=True)
    return result


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("models", nargs="+")
    p.add_argument("--device-map", default="cuda:0")
    p.add_argument("--prompt", type=int, default=128)
    p.add_argument("--new", type=int, default=64)
    p.add_argument("--batch", type=int, nargs="+", default=[1, 16])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json")
    a = p.parse_args()
    results = [measure(path, a) for path in a.models]
    if a.json:
        with open(a.json, "a") as f:
            for r in results:
                f.write(json.dumps(r) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
