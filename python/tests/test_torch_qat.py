"""A tiny quantization-aware training loop on the CPU: a model whose Linear layers compute with
8-bit fake-quantized weights and activations learns (its loss falls)."""

import unittest

import torch

from qat_loop import train


class QuantizationAwareTraining(unittest.TestCase):
    def test_loss_decreases_for_every_format(self):
        for format in ("hif8", "fp8_e4m3fn", "fp8_e5m2", "int8"):
            first, last = train(format, device="cpu")
            self.assertLess(last, 0.5 * first, f"{format}: loss {first:.4f} -> {last:.4f}")


if __name__ == "__main__":
    unittest.main()
