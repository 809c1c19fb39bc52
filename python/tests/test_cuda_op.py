"""torch.ops.hifp8.fake_quant on CUDA tensors: bit for bit the CPU op (dynamic and given scales, every
format, granularity and dtype), the same gradients, the caller's stream, and a QAT loop on the GPU."""

import unittest

import torch

import hifp8
import hifp8.torch_ops as ops
from op_cases import CASES, DTYPES, expected_gradient, heavy_tailed
from qat_loop import assert_every_format_learns
from test_torch_op import assert_same


class CudaForward(unittest.TestCase):
    def test_equals_the_cpu_op(self):
        for f in hifp8.formats():
            for granularity, shape in CASES:
                for dtype in DTYPES:
                    x = heavy_tailed(shape, dtype)
                    if x.numel() > 2:
                        x.view(-1)[1] = float("nan")
                        x.view(-1)[2] = float("-inf")
                    what = f"{f.name} {granularity} {shape} {dtype}"
                    gpu = ops.fake_quant(x.cuda(), f.name, granularity=granularity)
                    self.assertEqual(gpu.device.type, "cuda")
                    assert_same(self, gpu.cpu(), ops.fake_quant(x, f.name, granularity=granularity), what)
                    scale = torch.rand(hifp8.scale_shape(list(shape), granularity)) * 1e-3 + 1e-5
                    gpu = ops.fake_quant(x.cuda(), f.name, scale=scale.cuda(), granularity=granularity)
                    assert_same(self, gpu.cpu(), ops.fake_quant(x, f.name, scale=scale, granularity=granularity),
                                what + " given scales")

    def test_non_contiguous_input_float64_and_a_side_stream(self):
        x = heavy_tailed((64, 256), device="cuda")
        view = x[::2, 1::3]
        self.assertTrue(torch.equal(ops.fake_quant(view, "hif8", granularity="token").cpu(),
                                    ops.fake_quant(view.cpu(), "hif8", granularity="token")))
        x64 = x.double()
        self.assertTrue(torch.equal(ops.fake_quant(x64, "e4m3").cpu(), ops.fake_quant(x64.cpu(), "e4m3")))
        stream = torch.cuda.Stream()
        with torch.cuda.stream(stream):
            big = heavy_tailed((4096, 4096), device="cuda")  # made and used on the side stream
            y = ops.fake_quant(big, "e5m2", granularity="channel")
        stream.synchronize()
        self.assertTrue(torch.equal(y.cpu(), ops.fake_quant(big.cpu(), "e5m2", granularity="channel")))


class CudaGradients(unittest.TestCase):
    def test_clipped_straight_through_estimator(self):
        for f in hifp8.formats():
            for granularity, shape in CASES:
                x = (heavy_tailed(shape) * 50).cuda().requires_grad_()
                scale = (torch.rand(hifp8.scale_shape(list(shape), granularity)) * 1e-2 + 1e-3).cuda()
                grad = torch.randn(shape, device="cuda")
                for s in (None, scale):
                    x.grad = None
                    ops.fake_quant(x, f.name, scale=s, granularity=granularity).backward(grad)
                    self.assertTrue(torch.equal(x.grad.cpu(), expected_gradient(x, grad, f.name, s, granularity)),
                                    f"{f.name} {granularity}")


class CudaQuantizationAwareTraining(unittest.TestCase):
    def test_loss_decreases_on_the_gpu(self):
        assert_every_format_learns(self, "cuda")


if __name__ == "__main__":
    unittest.main()
