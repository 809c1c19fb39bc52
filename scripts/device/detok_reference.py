"""Decode references for the incremental detokenizer tests, made on the device machine with the
reference implementations (HF `tokenizers` for tokenizer.json, the `sentencepiece` library for
tokenizer.model). Writes OUT/detok_reference.json:
  {"<name>": {"kind": "tokenizer.json"|"sentencepiece", "cases": [{"ids": [...], "text": "..."}]}}
Cases: random id sequences biased towards byte tokens (partial and invalid UTF-8), and every prefix of
the encodings of multi-byte texts (a stream cut in the middle of a character). `text` is decode(ids)
with special tokens skipped; invalid UTF-8 comes back as the reference replaces it (U+FFFD)."""
import json
import random
import sys

import sentencepiece
import tokenizers

src, out = sys.argv[1], sys.argv[2]
rng = random.Random(14)
texts = ["héllo 世界 🎉!", "naïve café — “quotes” ∑ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "Ünïcödé 日本語のテキスト 😀😃", "a\u0301 e\u0308 \u200b z"]


def cases_for(encode, decode, vocab, byte_ids):
    cases = []
    for _ in range(300):
        n = rng.randint(1, 12)
        ids = [rng.choice(byte_ids) if rng.random() < 0.7 else rng.randrange(vocab) for _ in range(n)]
        cases.append({"ids": ids, "text": decode(ids)})
    for t in texts:
        ids = encode(t)
        for k in range(1, len(ids) + 1):
            cases.append({"ids": ids[:k], "text": decode(ids[:k])})
    return cases


ref = {}
for name, path in [("gpt2", f"{src}/gpt2-bpe/tokenizer.json"), ("stories260K", f"{src}/stories260K/tokenizer.json")]:
    tok = tokenizers.Tokenizer.from_file(path)
    vocab = tok.get_vocab_size()
    # Byte tokens: SentencePiece-style <0xXX> pieces, or byte-level BPE's one-character tokens.
    byte_ids = [i for i in range(vocab) if (tok.id_to_token(i) or "").startswith("<0x") or len(tok.id_to_token(i) or "") == 1]
    ref[name] = {"kind": "tokenizer.json", "cases": cases_for(
        lambda t: tok.encode(t, add_special_tokens=False).ids,
        lambda ids: tok.decode(ids, skip_special_tokens=True), vocab, byte_ids)}
for name, path in [("stories260K_spm", f"{src}/stories260K/tokenizer.model"), ("llama2_spm", f"{src}/llama2-spm/tokenizer.model")]:
    sp = sentencepiece.SentencePieceProcessor(model_file=path)
    vocab = sp.get_piece_size()
    byte_ids = [i for i in range(vocab) if sp.is_byte(i)]
    ref[name] = {"kind": "sentencepiece", "cases": cases_for(
        lambda t: sp.encode(t), lambda ids: sp.decode([i for i in ids if not sp.is_control(i)]), vocab, byte_ids)}
ref["versions"] = {"tokenizers": tokenizers.__version__, "sentencepiece": sentencepiece.__version__}
json.dump(ref, open(f"{out}/detok_reference.json", "w"), ensure_ascii=False, indent=0)
print("detok done", {k: len(v["cases"]) for k, v in ref.items() if k != "versions"}, flush=True)
