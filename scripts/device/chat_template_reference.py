"""transformers' own apply_chat_template (tokenize=False) for each family's tokenizer directory and
each conversation of tests/data/chat_conversations.json, with and without the generation prompt: the
check that tests/jinja/render_oracle.py renders in transformers' environment. Writes OUT."""
import json
import sys

import transformers

src, conversations_file, out = sys.argv[1], sys.argv[2], sys.argv[3]
conversations = json.load(open(conversations_file, encoding="utf-8"))
rows = []
for family in ["deepseek_v3", "gemma3", "llama3_1", "qwen3"]:
    tok = transformers.AutoTokenizer.from_pretrained(f"{src}/{family}")
    for conv in conversations:
        for agp in (True, False):
            row = {"name": f"{family}/{conv['name']}/agp={int(agp)}"}
            try:
                row["output"] = tok.apply_chat_template(conv["messages"], tools=conv.get("tools"), add_generation_prompt=agp,
                                                        tokenize=False, **conv.get("extra", {}))
            except Exception as e:  # noqa: BLE001 - the oracle must fail too
                row["error"] = type(e).__name__ + ": " + str(e)
            rows.append(row)
json.dump({"transformers": transformers.__version__, "rows": rows}, open(out, "w"), ensure_ascii=False, indent=0)
print(len(rows), "chat renders", flush=True)
