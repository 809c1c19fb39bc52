#!/usr/bin/env python3
"""transformers (bf16, SDPA attention, eager decoding with a DynamicCache) on a checkpoint, measured the
way `hifp8 bench engine` measures the GPU engine: prefill of one random prompt (median of 3 after a
warm-up), and greedy decode tokens/s for each batch size after `context` tokens per sequence.
  hf_engine_baseline.py MODEL_DIR [--prompt-tokens 512] [--batch 1,16] [--context 128] [--tokens 128]"""
import argparse
import json
import statistics
import time

import torch
from transformers import AutoModelForCausalLM, DynamicCache


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--prompt-tokens", type=int, default=512)
    p.add_argument("--batch", default="1,16")
    p.add_argument("--context", type=int, default=128)
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--json")
    a = p.parse_args()
    t0 = time.time()
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16, attn_implementation="sdpa").cuda().eval()
    print(f"transformers: {a.model} loaded in {time.time() - t0:.1f} s", flush=True)
    vocab = model.config.vocab_size
    gen = torch.Generator(device="cuda").manual_seed(1)
    rows = []

    def report(what, batch, tps, ms):
        rows.append({"model": a.model, "engine": "transformers-bf16", "what": what, "batch": batch,
                     "tokens_per_s": tps, "ms": ms})
        print(f"{what:<8} batch {batch:2d}  {tps:10.1f} tokens/s  ({ms:.3f} ms)  [transformers bf16]", flush=True)

    with torch.inference_mode():
        prompt = torch.randint(0, vocab, (1, a.prompt_tokens), device="cuda", generator=gen)
        times = []
        for r in range(4):
            torch.cuda.synchronize()
            t = time.perf_counter()
            model(prompt, use_cache=True, past_key_values=DynamicCache())
            torch.cuda.synchronize()
            if r:
                times.append(time.perf_counter() - t)
        s = statistics.median(times)
        report("prefill", 1, a.prompt_tokens / s, s * 1e3)
        for b in [int(x) for x in a.batch.split(",")]:
            ids = torch.randint(0, vocab, (b, a.context), device="cuda", generator=gen)
            cache = DynamicCache()
            out = model(ids, use_cache=True, past_key_values=cache)
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            for _ in range(3):
                out = model(nxt, use_cache=True, past_key_values=cache)
                nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            torch.cuda.synchronize()
            t = time.perf_counter()
            for _ in range(a.tokens):
                out = model(nxt, use_cache=True, past_key_values=cache)
                nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            torch.cuda.synchronize()
            s = time.perf_counter() - t
            report("decode", b, b * a.tokens / s, s / a.tokens * 1e3)
    if a.json:
        with open(a.json, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
