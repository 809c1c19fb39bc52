"""GPT-OSS with MXFP4 experts, as the published checkpoint stores them: each expert weight rounded to
MXFP4 (E2M1 values, one E8M0 scale per 32 along the input), written as <name>_blocks [E, out, in/32, 16]
(two codes a byte, low nibble first) and <name>_scales [E, out, in/32], everything else as it was; the
reference logits come from the same model holding the rounded weights. transformers' own unpacking
(convert_moe_packed_tensors) must give back exactly the rounded weights."""
import json
import os

import torch
from safetensors.torch import save_file

E2M1 = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])


def quantize(w_out_in):
    """[E, out, in] float -> (codes uint8 [E, out, in], scales uint8 [E, out, in/32], dequantized)."""
    E, O, I = w_out_in.shape
    g = w_out_in.reshape(E, O, I // 32, 32)
    amax = g.abs().amax(-1).clamp(min=1e-30)
    exp = torch.floor(torch.log2(amax / 6.0)).clamp(-127, 127)  # largest code 6 * 2^exp >= amax... or clipped
    scale = torch.pow(2.0, exp)[..., None]
    mag = (g.abs() / scale).clamp(max=6.0)
    idx = (mag[..., None] - E2M1).abs().argmin(-1)  # nearest magnitude (ties to the lower code)
    codes = idx | ((g < 0) & (idx > 0)).to(torch.long) * 8
    deq = E2M1[idx] * scale * torch.where(g < 0, -1.0, 1.0)
    return codes.to(torch.uint8).reshape(E, O, I), (exp + 127).to(torch.uint8), deq.reshape(E, O, I)


def pack(codes):
    return (codes[..., 0::2] | (codes[..., 1::2] << 4)).reshape(*codes.shape[:-1], codes.shape[-1] // 32, 16)


def write(model, d, ids, logits_of):
    os.makedirs(d, exist_ok=True)
    tensors = {}
    with torch.no_grad():
        for layer in model.model.layers:
            ex = layer.mlp.experts
            for name in ("gate_up_proj", "down_proj"):
                p = getattr(ex, name)  # [E, in, out]
                codes, scales, deq = quantize(p.detach().transpose(1, 2).float())
                p.copy_(deq.transpose(1, 2))
                blocks = pack(codes)
                try:
                    from transformers.integrations.mxfp4 import convert_moe_packed_tensors
                    back = convert_moe_packed_tensors(blocks, scales, dtype=torch.float32).float()
                    # Newer transformers return the parameter's [E, in, out] layout, older ones [E, out, in].
                    same = torch.equal(back, deq) or (back.shape == deq.transpose(1, 2).shape and torch.equal(back, deq.transpose(1, 2)))
                    assert same, f"{name}: transformers unpacks differently ({tuple(back.shape)} vs {tuple(deq.shape)})"
                    print(name, "transformers' convert_moe_packed_tensors gives the same values", tuple(back.shape), flush=True)
                except ImportError as e:
                    print("no transformers MXFP4 unpacking to cross-check:", e)
                tensors[name] = (blocks, scales)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    for i in range(len(model.model.layers)):
        p = f"model.layers.{i}.mlp.experts."
        for name in ("gate_up_proj", "down_proj"):
            del state[p + name]
        ex = model.model.layers[i].mlp.experts
        for name in ("gate_up_proj", "down_proj"):
            codes, scales, _ = quantize(getattr(ex, name).detach().transpose(1, 2).float())
            state[p + name + "_blocks"] = pack(codes).contiguous()
            state[p + name + "_scales"] = scales.contiguous()
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    save_file(state, f"{d}/model.safetensors", metadata={"format": "pt"})
    config = model.config.to_dict()
    config["quantization_config"] = {"quant_method": "mxfp4", "modules_to_not_convert": ["model.layers.*.self_attn",
                                     "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"]}
    json.dump(config, open(f"{d}/config.json", "w"), indent=2)
    json.dump({"tokens": ids, "logits": logits_of(model, ids)}, open(f"{d}/reference_logits.json", "w"))
    print("gpt_oss_mxfp4 done", flush=True)
