#!/usr/bin/env python3
"""transformers' perplexity loop (bf16, SDPA), the baseline of `hifp8 eval ppl --device cuda`: each line
of a token file is one document scored in windows of --ctx tokens with stride --ctx (every token but a
window's first scored once), one window per forward, log-softmax and gather on the GPU.
  hf_ppl_baseline.py MODEL_DIR TOKENS_FILE [--ctx 2048] [--json OUT]"""
import argparse
import json
import math
import time

import torch
from transformers import AutoModelForCausalLM


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("tokens")
    p.add_argument("--ctx", type=int, default=2048)
    p.add_argument("--json")
    a = p.parse_args()
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16, attn_implementation="sdpa").cuda().eval()
    docs = [[int(t) for t in line.split()] for line in open(a.tokens) if line.strip()]
    windows = [d[i:i + a.ctx] for d in docs for i in range(0, len(d), a.ctx) if len(d[i:i + a.ctx]) > 1]
    nll, scored = 0.0, 0
    with torch.inference_mode():
        model(torch.tensor([windows[0]], device="cuda"))  # warm-up
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for w in windows:
            ids = torch.tensor([w], device="cuda")
            logits = model(ids).logits[0, :-1].float()
            nll -= torch.log_softmax(logits, -1).gather(-1, ids[0, 1:, None]).sum().item()
            scored += len(w) - 1
        torch.cuda.synchronize()
        s = time.perf_counter() - t0
    row = {"model": a.model, "engine": "transformers-bf16", "scored_tokens": scored, "seconds": s,
           "tokens_per_s": scored / s, "ppl": math.exp(nll / scored)}
    print(f"transformers ppl loop: {scored} tokens in {s:.2f} s = {scored / s:.0f} scored tokens/s, ppl {row['ppl']:.4f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(row, f)


if __name__ == "__main__":
    main()
