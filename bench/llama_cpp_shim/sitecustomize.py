# Debian 12's PyTorch 1.13 has no float8 dtypes, which llama.cpp's converter names in a table at
# import time. The peer benchmark converts bf16 checkpoints only, so placeholders are enough.
import torch

for _name in ("float8_e4m3fn", "float8_e5m2"):
    if not hasattr(torch, _name):
        setattr(torch, _name, torch.uint8)
