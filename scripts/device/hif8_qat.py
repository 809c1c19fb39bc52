"""Quantization-aware training from a native hif8 checkpoint, through hifp8.transformers.

Loads the hif8 checkpoint with transformers (HiF8Linear layers), makes them trainable (float32 master
weights from the dequantized codes, forward through torch.ops.hifp8.fake_quant), trains by distillation
(AdamW, 20 warm-up steps, cosine decay)
from the bf16 original (KL(teacher || student) over every position of random windows of the training
text) and writes the result with save_pretrained: a native hif8 checkpoint with re-encoded codes.

usage: python3 hif8_qat.py ORIGINAL_DIR HIF8_DIR OUT_DIR TRAIN_IDS_FILE [--steps N] [--lr LR]
TRAIN_IDS_FILE: token ids, whitespace-separated (hifp8 tokenize --ids-only of the training text).
Progress on stderr; a JSON summary on stdout.
"""

import argparse
import json
import math
import pathlib
import shutil
import sys
import time

import torch
from transformers import AutoModelForCausalLM

import hifp8.transformers  # noqa: F401  (registers quant_method "hif8")
from hifp8.quantized_linear import disable_qat, enable_qat


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("original")
    p.add_argument("hif8")
    p.add_argument("out")
    p.add_argument("train_ids")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    torch.manual_seed(a.seed)
    ids = torch.tensor([int(t) for t in open(a.train_ids).read().split()], dtype=torch.long)
    teacher = AutoModelForCausalLM.from_pretrained(a.original, dtype=torch.bfloat16, device_map="cuda").eval()
    student = AutoModelForCausalLM.from_pretrained(a.hif8, dtype=torch.bfloat16, device_map="cuda")
    for param in student.parameters():
        param.requires_grad_(False)  # only the quantized layers' master weights train
    params = enable_qat(student, torch.float32)  # bf16 master weights would round small updates away
    optimizer = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.0)
    warmup = 20  # then cosine decay to 0: a constant rate drifts away again once the codes have settled

    def rate(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, a.steps - warmup)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    losses, start = [], time.time()
    for step in range(a.steps):
        starts = torch.randint(0, len(ids) - a.seq, (a.batch,))
        batch = torch.stack([ids[s: s + a.seq] for s in starts.tolist()]).cuda()
        with torch.no_grad():
            target = torch.log_softmax(teacher(batch).logits.float(), -1)
        logq = torch.log_softmax(student(batch).logits.float(), -1)
        loss = torch.nn.functional.kl_div(logq, target, log_target=True, reduction="none").sum(-1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if step % 25 == 0 or step == a.steps - 1:
            print(f"step {step:4d}  KL {loss.item():.5f}  {time.time() - start:.0f} s", file=sys.stderr, flush=True)
    disable_qat(student)
    student.save_pretrained(a.out)
    for f in pathlib.Path(a.hif8).glob("*token*"):  # save_pretrained writes no tokenizer; hifp8's tools need it
        shutil.copy(f, a.out)
    first, last = sum(losses[:20]) / min(20, len(losses)), sum(losses[-20:]) / min(20, len(losses))
    print(json.dumps({"steps": a.steps, "lr": a.lr, "batch": a.batch, "seq": a.seq, "train_tokens": len(ids),
                      "kl_first20": first, "kl_last20": last, "seconds": time.time() - start}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
