"""Reference data for the engine and tokenizer tests, made with transformers / tokenizers on the
device machine (scripts/device/make_references.sh). Writes into OUT:
  stories260K_logits.json       logits of stories260K (fp32) for fixed token ids
  tiny-models/<arch>/           tiny random checkpoints of each architecture (fp32 safetensors) with
                                reference_logits.json from transformers' eager implementation
  tiny-models/gpt_oss_mxfp4/    the GPT-OSS one with its experts stored as MXFP4 blocks and scales
  tokenizer_reference.json      token ids of tests/data/tokenizer_cases.json by both reference tokenizers
"""
import json
import os
import sys

import torch
import transformers

src, out = sys.argv[1], sys.argv[2]
parts = sys.argv[3].split(",") if len(sys.argv) > 3 else ["stories", "tiny", "tokenizers"]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
tokens = [1, 403, 407, 261, 378, 316, 282, 414, 289, 434, 267, 301, 318, 299, 260, 415, 2, 7, 100, 511]


def logits_of(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].double().tolist()


if "stories" in parts:
    m = transformers.AutoModelForCausalLM.from_pretrained(f"{src}/stories260K", torch_dtype=torch.float32, attn_implementation="eager")
    json.dump({"tokens": tokens, "logits": logits_of(m, tokens), "transformers": transformers.__version__},
              open(f"{out}/stories260K_logits.json", "w"))
    print("stories260K done", flush=True)

base = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            head_dim=16, vocab_size=128, max_position_embeddings=256, rms_norm_eps=1e-5, tie_word_embeddings=False)
archs = {
    "llama3": ("LlamaConfig", "LlamaForCausalLM", dict(rope_scaling={"rope_type": "llama3", "factor": 8.0,
               "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 32}, rope_theta=500000.0)),
    "mistral": ("MistralConfig", "MistralForCausalLM", dict(sliding_window=8)),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", dict(tie_word_embeddings=True)),
    "qwen3": ("Qwen3Config", "Qwen3ForCausalLM", dict()),
    "qwen3_moe": ("Qwen3MoeConfig", "Qwen3MoeForCausalLM", dict(num_experts=4, num_experts_per_tok=2, moe_intermediate_size=48,
                  norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[])),
    "mixtral": ("MixtralConfig", "MixtralForCausalLM", dict(num_local_experts=4, num_experts_per_tok=2, sliding_window=None)),
    # Llama 3.2: tied embeddings, llama3 RoPE with factor 32.
    "llama32": ("LlamaConfig", "LlamaForCausalLM", dict(tie_word_embeddings=True, rope_scaling={"rope_type": "llama3",
                "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 16},
                rope_theta=500000.0)),
    # Phi-3: fused qkv_proj and gate_up_proj, sliding window; Phi-3.5: LongRoPE (long factors past 8 positions).
    "phi3": ("Phi3Config", "Phi3ForCausalLM", dict(pad_token_id=0, sliding_window=6)),
    "phi3_longrope": ("Phi3Config", "Phi3ForCausalLM", dict(pad_token_id=0, original_max_position_embeddings=8,
                      rope_scaling={"type": "longrope", "short_factor": [1.0 + 0.1 * i for i in range(8)],
                                    "long_factor": [1.5 + 0.3 * i for i in range(8)]})),
    # Gemma 2: (1 + w) norms around attention and MLP, GELU-tanh, soft-capping, local/global layers.
    "gemma2": ("Gemma2Config", "Gemma2ForCausalLM", dict(query_pre_attn_scalar=24, attn_logit_softcapping=50.0,
               final_logit_softcapping=30.0, sliding_window=4, hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True)),
    # Gemma 3 text: q/k norms, 2 local layers per global one with their own RoPE base, linear scaling on global.
    "gemma3": ("Gemma3TextConfig", "Gemma3ForCausalLM", dict(num_hidden_layers=3, query_pre_attn_scalar=24, sliding_window=4,
               layer_types=["sliding_attention", "sliding_attention", "full_attention"], rope_theta=1000000.0,
               rope_local_base_freq=10000.0, rope_scaling={"rope_type": "linear", "factor": 8.0}, tie_word_embeddings=True)),
    # GPT-OSS: sinks, alternating sliding windows, YaRN, biased attention, top-k-then-softmax router, clamped SwiGLU experts.
    "gpt_oss": ("GptOssConfig", "GptOssForCausalLM", dict(num_local_experts=4, num_experts_per_tok=2, sliding_window=4,
                layer_types=["sliding_attention", "full_attention"], attention_bias=True, rope_theta=150000.0,
                rope_scaling={"rope_type": "yarn", "factor": 32.0, "beta_fast": 32.0, "beta_slow": 1.0,
                              "original_max_position_embeddings": 8, "truncate": False})),
}
ids = [3, 17, 99, 5, 64, 127, 0, 42, 42, 8, 77, 23]
for name, (cfg_cls, model_cls, extra) in archs.items() if "tiny" in parts else []:
    cfg = getattr(transformers, cfg_cls)(**{**base, **extra})
    cfg._attn_implementation = "eager"
    model = getattr(transformers, model_cls)(cfg).float().eval()
    with torch.no_grad():  # random norms and biases so that they matter
        for n, p in model.named_parameters():
            if "norm" in n or n.endswith("bias"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p) if "norm" in n else 0.1 * torch.randn_like(p))
            elif n.endswith("sinks"):
                p.copy_(torch.randn_like(p))
            elif "experts" in n:  # GPT-OSS initializes experts at std 0.02: make them matter
                p.copy_(0.2 * torch.randn_like(p))
    d = f"{out}/tiny-models/{name}"
    model.save_pretrained(d, safe_serialization=True)
    json.dump({"tokens": ids, "logits": logits_of(model, ids)}, open(f"{d}/reference_logits.json", "w"))
    print(name, "done", flush=True)
    if name == "gpt_oss":
        import mxfp4_reference
        mxfp4_reference.write(model, f"{out}/tiny-models/gpt_oss_mxfp4", ids, logits_of)

if "tokenizers" not in parts:
    sys.exit(0)
cases = json.load(open(f"{src}/tokenizer_cases.json"))
ref = {"cases": cases}
gpt2 = transformers.AutoTokenizer.from_pretrained(f"{src}/gpt2-bpe")
ref["gpt2"] = [gpt2.encode(c) for c in cases]
ref["gpt2_decode"] = [gpt2.decode(i) for i in ref["gpt2"]]
try:
    llama = transformers.AutoTokenizer.from_pretrained(f"{src}/llama2-spm")
    ref["llama2"] = [llama.encode(c) for c in cases]
    ref["llama2_decode"] = [llama.decode(i, skip_special_tokens=True) for i in ref["llama2"]]
    ref["llama2_tokenizer"] = type(llama).__name__
except Exception as e:  # noqa: BLE001 - record why, the C++ test then uses libsentencepiece's own answers
    ref["llama2_error"] = repr(e)
try:
    import sentencepiece
    sp = sentencepiece.SentencePieceProcessor(model_file=f"{src}/llama2-spm/tokenizer.model")
    ref["llama2_sentencepiece"] = [[sp.bos_id()] + sp.encode(c) for c in cases]
except Exception as e:  # noqa: BLE001
    ref["sentencepiece_error"] = repr(e)
ref["versions"] = {"transformers": transformers.__version__, "torch": torch.__version__}
json.dump(ref, open(f"{out}/tokenizer_reference.json", "w"), ensure_ascii=False, indent=0)
print("tokenizers done", {k: v for k, v in ref.items() if k.endswith("error")}, flush=True)
