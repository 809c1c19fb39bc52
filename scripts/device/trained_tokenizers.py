"""Tokenizer models the six npm families do not use, trained here by Hugging Face `tokenizers` on a
public-domain text (so the files are the reference library's own output): Unigram (T5-style, with a
Metaspace pre-tokenizer and a TemplateProcessing post-processor), WordLevel, WordPiece (BERT's
normalizer, pre-tokenizer, decoder and post-processor), and BPE with continuing_subword_prefix and
end_of_word_suffix (RobertaProcessing) carrying added tokens with every flag (lstrip, rstrip,
single_word, normalized, special). Writes OUT/trained-tokenizers/<name>/tokenizer.json and the ids
and decodes of TEXTS by each into OUT/trained_tokenizer_reference.json.
  trained_tokenizers.py CORPUS TEXTS OUT"""
import json
import os
import sys

import tokenizers
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

corpus_file, texts_file, out = sys.argv[1:4]
lines = [l for l in open(corpus_file, encoding="utf-8").read().splitlines() if l.strip()][:4000]
texts = json.load(open(texts_file, encoding="utf-8"))
made = {}

t = Tokenizer(models.Unigram())
t.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(tokenizers.Regex(" {2,}"), " ")])
t.pre_tokenizer = pre_tokenizers.Metaspace()
t.decoder = decoders.Metaspace()
t.train_from_iterator(lines, trainers.UnigramTrainer(vocab_size=600, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>"))
t.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", t.token_to_id("</s>"))])
made["unigram"] = t

t = Tokenizer(models.WordLevel(unk_token="[UNK]"))
t.normalizer = normalizers.Lowercase()
t.pre_tokenizer = pre_tokenizers.Whitespace()
t.train_from_iterator(lines, trainers.WordLevelTrainer(vocab_size=800, special_tokens=["[UNK]"]))
made["wordlevel"] = t

t = Tokenizer(models.WordPiece(unk_token="[UNK]"))
t.normalizer = normalizers.BertNormalizer(lowercase=True)
t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
t.decoder = decoders.WordPiece()
t.train_from_iterator(lines, trainers.WordPieceTrainer(vocab_size=700, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
t.post_processor = processors.BertProcessing(("[SEP]", t.token_to_id("[SEP]")), ("[CLS]", t.token_to_id("[CLS]")))
made["wordpiece"] = t

t = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
t.pre_tokenizer = pre_tokenizers.Whitespace()
t.normalizer = normalizers.Lowercase()
t.decoder = decoders.BPEDecoder(suffix="</w>")
t.train_from_iterator(lines, trainers.BpeTrainer(vocab_size=700, special_tokens=["<s>", "</s>", "<unk>"],
                                                 continuing_subword_prefix="##", end_of_word_suffix="</w>"))
t.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True), AddedToken("<sep>", rstrip=True, special=True)])
t.add_tokens([AddedToken("whale", single_word=True, normalized=True), AddedToken("Captain", normalized=False),
              AddedToken("end", single_word=False, lstrip=True, rstrip=True, normalized=True)])
t.post_processor = processors.RobertaProcessing(("</s>", t.token_to_id("</s>")), ("<s>", t.token_to_id("<s>")))
made["bpe_affixes"] = t

extra = ["the whale and the whales", "whale-bone, Whale! awhale", "I am <mask> here", "a <mask>", "x <sep>   y", "<sep>", "Captain Ahab captain",
         "the end  of the legend ends", " end ", "ﬁne ＡＢＣ ①", "Ahab's whale", "  spaced   out  "]
ref = {"tokenizers": tokenizers.__version__, "texts": texts + extra, "models": {}}
for name, tok in made.items():
    d = f"{out}/trained-tokenizers/{name}"
    os.makedirs(d, exist_ok=True)
    tok.save(f"{d}/tokenizer.json")
    ids = [tok.encode(x).ids for x in ref["texts"]]
    ref["models"][name] = {"ids": ids, "decode": [tok.decode(i, skip_special_tokens=False) for i in ids]}
    print(name, tok.get_vocab_size(), sum(len(i) for i in ids), "ids", flush=True)
json.dump(ref, open(f"{out}/trained_tokenizer_reference.json", "w"), ensure_ascii=False)
