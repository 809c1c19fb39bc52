"""Checks hifp8 quantize outputs with independent readers on the device machine.

For every output directory under OUT_ROOT (one per scheme):
  1. load the shards with the `safetensors` package, dequantize every quantized weight with PyTorch
     (HiF8 through the golden decode table, not hifp8's code) and report SQNR against the original;
  2. build a BF16 model from those dequantized weights and compare its logits with the original's;
  3. for fp8-block and fake-* outputs, also load the directory itself with transformers
     (FineGrainedFP8 for fp8-block) and compare logits.

usage: python3 verify_checkpoints.py ORIGINAL_DIR OUT_ROOT HIF8_DECODE_TSV
"""
import json
import math
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

orig_dir, out_root, hif8_tsv = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
device = "cuda" if torch.cuda.is_available() else "cpu"


def load_dir(d):
    tensors = {}
    for f in sorted(d.glob("*.safetensors")):
        tensors.update(load_file(f))
    return tensors


def hif8_table():
    table = torch.empty(256, dtype=torch.float32)
    rows = hif8_tsv.read_text().splitlines()[1:]
    for row in rows:
        code, bits, _ = row.split("\t")
        table[int(code, 16)] = torch.tensor([int(bits, 16)], dtype=torch.int64).to(torch.int32).view(torch.float32)[0]
    return table


HIF8 = hif8_table()


def expand(scale, shape, block):
    """Broadcast a [rows/br, cols/bc] block-scale grid (or [out, groups]) over a weight."""
    rows, cols = shape
    br, bc = block
    return scale.repeat_interleave(br, 0)[:rows].repeat_interleave(bc, 1)[:, :cols]


def dequantize(name, tensors, qc):
    w = tensors[name]
    module = name[: -len(".weight")]
    if w.dtype in (torch.float32, torch.float16, torch.bfloat16):
        return w.float()
    values = HIF8[w.long()] if w.dtype == torch.uint8 else w.float()
    if f"{module}.weight_scale_inv" in tensors:
        return values * expand(tensors[f"{module}.weight_scale_inv"].float(), w.shape, qc["weight_block_size"])
    scale = tensors[f"{module}.weight_scale"].float()
    weights_cfg = qc.get("weights") or qc.get("config_groups", {}).get("group_0", {}).get("weights", {})
    strategy = weights_cfg.get("strategy", "tensor" if scale.numel() == 1 else "channel")
    if strategy == "group":
        return values * scale.repeat_interleave(weights_cfg["group_size"], 1)
    if strategy == "block":
        return values * expand(scale, w.shape, weights_cfg["block_structure"])
    return values * scale  # channel [out, 1] or tensor [] / [1]


def sqnr(x, y):
    noise = (x - y).double().pow(2).sum().item()
    return math.inf if noise == 0 else 10 * math.log10(x.double().pow(2).sum().item() / noise)


def logits_of(model, ids):
    with torch.no_grad():
        return model(ids).logits.float()


def compare(ref, got):
    logp, logq = torch.log_softmax(ref, -1), torch.log_softmax(got, -1)
    kl = (logp.exp() * (logp - logq)).sum(-1).mean().item()
    top1 = (ref.argmax(-1) == got.argmax(-1)).float().mean().item()
    return {"kl": kl, "top1_agreement": top1, "max_abs_logit_diff": (ref - got).abs().max().item()}


text = ("Once upon a time there was a little village by the sea. The people of the village were fishermen, "
        "and every morning they went out in their boats to catch fish for the market.")
try:
    ids = AutoTokenizer.from_pretrained(orig_dir)(text, return_tensors="pt").input_ids.to(device)
except Exception as e:  # the tokenizer is a convenience; token ids work as well
    print(f"tokenizer unavailable ({e}); using fixed random ids")
    ids = torch.randint(3, 32000, (1, 64), generator=torch.Generator().manual_seed(0)).to(device)

original = load_dir(orig_dir)
base = AutoModelForCausalLM.from_pretrained(orig_dir, dtype=torch.bfloat16).to(device).eval()
ref = logits_of(base, ids)
results = {}
for out_dir in sorted(p for p in out_root.iterdir() if p.is_dir()):
    scheme = out_dir.name
    cfg = json.loads((out_dir / "config.json").read_text())
    qc = cfg.get("quantization_config", {})
    tensors = load_dir(out_dir)
    r = {"quant_method": qc.get("quant_method", "none (fake-quant)")}
    state, sq = {}, []
    for name, w in original.items():
        deq = dequantize(name, tensors, qc)
        if not torch.equal(deq, w.float()):
            sq.append(sqnr(w.float(), deq))
        state[name] = deq.to(torch.bfloat16)
    r["quantized_tensors"] = len(sq)
    r["sqnr_db_mean"] = sum(sq) / len(sq)
    r["sqnr_db_min"] = min(sq)
    base.load_state_dict(state, strict=False)
    r["torch_dequantized_model"] = compare(ref, logits_of(base, ids))
    base.load_state_dict({k: v.to(torch.bfloat16) for k, v in original.items()}, strict=False)
    if scheme == "fp8-block" or scheme.startswith("fake-"):
        try:
            m = AutoModelForCausalLM.from_pretrained(out_dir, dtype=torch.bfloat16, device_map=device).eval()
            r["transformers_load"] = compare(ref, logits_of(m, ids))
            del m
        except Exception as e:
            r["transformers_load"] = f"FAILED: {type(e).__name__}: {str(e)[:300]}"
            if scheme == "fp8-block":
                # Without the `kernels` package transformers cannot run FP8 matmuls; its own
                # dequantize-on-load path still exercises its reading of the block layout.
                try:
                    from transformers import FineGrainedFP8Config

                    m = AutoModelForCausalLM.from_pretrained(
                        out_dir, dtype=torch.bfloat16, device_map=device,
                        quantization_config=FineGrainedFP8Config(dequantize=True)).eval()
                    r["transformers_load_dequantize"] = compare(ref, logits_of(m, ids))
                    del m
                except Exception as e2:
                    r["transformers_load_dequantize"] = f"FAILED: {type(e2).__name__}: {str(e2)[:300]}"
    results[scheme] = r
    print(scheme, json.dumps(r), flush=True)

(Path(sys.argv[2]) / "verify.json").write_text(json.dumps(results, indent=2))
print("\n| scheme | quantized | SQNR mean / min dB | KL (torch dequant) | top-1 | transformers load: KL / top-1 |")
print("|---|---:|---|---:|---:|---|")
for s, r in results.items():
    t = r.get("transformers_load", "n/a")
    t = f"{t['kl']:.2e} / {t['top1_agreement']:.3f}" if isinstance(t, dict) else t
    if "transformers_load_dequantize" in r:
        dq = r["transformers_load_dequantize"]
        t += "; with dequantize=True: " + (f"{dq['kl']:.2e} / {dq['top1_agreement']:.3f}" if isinstance(dq, dict) else dq)
    d = r["torch_dequantized_model"]
    print(f"| {s} | {r['quantized_tensors']} | {r['sqnr_db_mean']:.2f} / {r['sqnr_db_min']:.2f} | "
          f"{d['kl']:.2e} | {d['top1_agreement']:.3f} | {t} |")
