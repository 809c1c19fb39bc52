"""A tiny quantization-aware training loop on the CPU: a model whose Linear layers compute with
8-bit fake-quantized weights and activations learns (its loss falls)."""

import unittest

from qat_loop import assert_every_format_learns


class QuantizationAwareTraining(unittest.TestCase):
    def test_loss_decreases_for_every_format(self):
        assert_every_format_learns(self, "cpu")


if __name__ == "__main__":
    unittest.main()
