"""HiF8Linear on CUDA tensors: the W8A16 kernel (up to 16 rows) and the decode + cuBLAS path (more
rows) against float64 x . (value(code) * scale)^T, for every 8-bit format and scale granularity, on
shapes that need padding; torch.compile through the operator's fake kernel."""

import unittest

import numpy as np
import torch

import hifp8
from hifp8.quantized_linear import HiF8Linear
from test_torch_quantized_linear import reference

CASES = [("channel", 37, 100), ("tensor", 48, 192), ("group:32", 37, 128), ("block:16x32", 40, 96)]


class CudaHif8Linear(unittest.TestCase):
    def test_both_paths_equal_float64_for_every_format_and_granularity(self):
        torch.manual_seed(np.random.SeedSequence().entropy % 2**31)
        for f in hifp8.formats():
            for granularity, n, k in CASES:
                linear = torch.nn.Linear(k, n, bias=False)
                layer = HiF8Linear.from_linear(linear, format=f.name, granularity=granularity).cuda()
                codes, scale = layer.codes().cpu().numpy(), layer.weight_scale.detach().cpu().numpy()
                for m in (1, 5, 16, 17, 40):
                    with self.subTest(format=f.name, granularity=granularity, m=m):
                        x = torch.randn(m, k, dtype=torch.bfloat16)
                        y = layer(x.cuda())
                        self.assertEqual((y.dtype, y.device.type, tuple(y.shape)), (torch.bfloat16, "cuda", (m, n)))
                        expected = reference(x.float(), codes, scale, granularity, f.name)
                        err = np.abs(y.float().cpu().numpy() - expected).max()
                        self.assertLessEqual(err, 1e-2 * np.abs(expected).max() + 1e-6, f"max error {err}")

    def test_float32_input_and_a_second_call_agree(self):
        layer = HiF8Linear.from_linear(torch.nn.Linear(256, 64)).cuda()
        x = torch.randn(3, 7, 256, device="cuda")
        y = layer(x)
        self.assertEqual((y.dtype, tuple(y.shape)), (torch.float32, (3, 7, 64)))
        torch.testing.assert_close(layer(x), y, rtol=0, atol=0)

    @unittest.skipUnless(hasattr(torch.library, "register_fake"), "torch.compile of custom operators needs PyTorch 2.4+")
    def test_torch_compile_gives_the_eager_result(self):
        layer = HiF8Linear.from_linear(torch.nn.Linear(256, 128, bias=False)).cuda().pack_()
        x = torch.randn(4, 256, device="cuda", dtype=torch.bfloat16)
        compiled = torch.compile(layer, fullgraph=True)
        torch.testing.assert_close(compiled(x), layer(x), rtol=0, atol=0)


if __name__ == "__main__":
    unittest.main()
