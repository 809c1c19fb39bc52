"""Sliding-window perplexity of stories260K on ../shared/data/stories260K_samples.tokens, computed the
way the Hugging Face perplexity guide does (transformers, fp32), for tests/data/ppl_reference.json.
Each line of the token file is one document; NLL is summed over all documents' scored tokens."""
import json
import math
import sys

import torch
import transformers

model_dir, tokens_file, out = sys.argv[1], sys.argv[2], sys.argv[3]
model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager").eval()
docs = [[int(t) for t in line.split()] for line in open(tokens_file) if line.strip()]
results = []
for ctx, stride in [(512, 256), (64, 32), (32, 7)]:
    nll_sum, n_tokens = 0.0, 0
    for doc in docs:
        ids = torch.tensor([doc])
        prev_end = 0
        for begin in range(0, len(doc), stride):
            end = min(begin + ctx, len(doc))
            trg_len = end - prev_end
            input_ids = ids[:, begin:end]
            target_ids = input_ids.clone()
            target_ids[:, :-trg_len] = -100
            with torch.no_grad():
                logits = model(input_ids).logits.double()
            shift_logits, shift_labels = logits[:, :-1, :], target_ids[:, 1:]
            mask = shift_labels != -100
            lp = torch.log_softmax(shift_logits, dim=-1)
            picked = lp.gather(-1, shift_labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            nll_sum -= picked[mask].sum().item()
            n_tokens += int(mask.sum().item())
            prev_end = end
            if end == len(doc):
                break
    results.append({"ctx": ctx, "stride": stride, "tokens": n_tokens, "mean_nll": nll_sum / n_tokens,
                    "ppl": math.exp(nll_sum / n_tokens)})
    print(results[-1], flush=True)
json.dump({"transformers": transformers.__version__, "results": results}, open(out, "w"), indent=1)
