"""Greedy continuation of stories260K by transformers (fp32, eager) from BOS and from "Once upon a
time", for the CLI test of `hifp8 generate` (ids and text)."""
import json
import sys

import torch
import transformers

model_dir, out = sys.argv[1], sys.argv[2]
tok = transformers.AutoTokenizer.from_pretrained(model_dir)
model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager").eval()
result = []
for prompt in ["", "Once upon a time"]:
    ids = tok(prompt).input_ids if prompt else [tok.bos_token_id]
    with torch.no_grad():
        gen = model.generate(torch.tensor([ids]), max_new_tokens=64, do_sample=False, eos_token_id=None, pad_token_id=0)
    new = gen[0, len(ids):].tolist()
    result.append({"prompt": prompt, "prompt_ids": ids, "ids": new, "text": tok.decode(new, skip_special_tokens=True)})
    print(result[-1]["text"], flush=True)
json.dump({"transformers": transformers.__version__, "results": result}, open(out, "w"), ensure_ascii=False, indent=1)
