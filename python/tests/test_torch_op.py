"""torch.ops.hifp8.fake_quant on the CPU: equal to the numpy path, gradients by the definition of the
clipped straight-through estimator, errors, FakeQuantLinear."""

import unittest

import numpy as np
import torch

import hifp8
import hifp8.torch_ops as ops
from op_cases import CASES, DTYPES, expected_gradient, heavy_tailed


def numpy_fake_quant(x, format, granularity, scale=None):
    """The reference path: hifp8.fake_quant on float32 numpy values, rounded back to x's dtype."""
    values = x.detach().float().numpy()
    out = hifp8.fake_quant(values, format, granularity=granularity, scale=None if scale is None else scale.numpy())
    return torch.from_numpy(out).to(x.dtype)


def assert_same(test, a, b, what):
    test.assertEqual(a.dtype, b.dtype, what)
    test.assertEqual(a.shape, b.shape, what)
    test.assertTrue(torch.equal(torch.isnan(a), torch.isnan(b)), what)
    test.assertTrue(torch.equal(a.nan_to_num(0.0), b.nan_to_num(0.0)), what)


class Forward(unittest.TestCase):
    def test_equals_the_numpy_path_for_every_format_granularity_and_dtype(self):
        for f in hifp8.formats():
            for granularity, shape in CASES:
                for dtype in DTYPES:
                    x = heavy_tailed(shape, dtype)
                    what = f"{f.name} {granularity} {shape} {dtype}"
                    assert_same(self, ops.fake_quant(x, f.name, granularity=granularity),
                                numpy_fake_quant(x, f.name, granularity), what)
                    scale = torch.rand(hifp8.scale_shape(list(shape), granularity)) * 1e-3 + 1e-5
                    assert_same(self, torch.ops.hifp8.fake_quant(x, f.name, scale, granularity, 0.0),
                                numpy_fake_quant(x, f.name, granularity, scale), what + " given scales")

    def test_special_values_and_float64(self):
        x = torch.tensor([0.0, -0.0, 1e-30, float("inf"), float("-inf"), float("nan"), 3.0], dtype=torch.float64)
        y = ops.fake_quant(x, "e4m3")
        self.assertEqual(y.dtype, torch.float64)
        self.assertEqual(y[3].item(), 3.0)  # the scale comes from the finite amax; Inf saturates to it
        self.assertEqual(y[4].item(), -3.0)
        self.assertTrue(torch.isnan(y[5]))
        self.assertEqual(y[0].item(), 0.0)
        self.assertEqual(torch.signbit(y[1]).item(), True)

    def test_target_and_format_objects(self):
        x = heavy_tailed((8, 64))
        a = ops.fake_quant(x, hifp8.format_info("hif8"), granularity="channel", target=64.0)
        b = torch.from_numpy(hifp8.fake_quant(x.numpy(), "hif8", granularity="channel", target=64.0))
        self.assertTrue(torch.equal(a, b))
        c = ops.fake_quant(x, "int8", scale=0.01, granularity="channel")
        d = ops.fake_quant(x, "int8", scale=torch.full((8, 1), 0.01), granularity="channel")
        self.assertTrue(torch.equal(c, d))

    def test_bad_arguments_are_clear_errors(self):
        x = torch.zeros(4, 8)
        with self.assertRaisesRegex(hifp8.Error, "hif8"):
            ops.fake_quant(x, "fp7")
        with self.assertRaisesRegex(hifp8.Error, "needs 4 scales"):
            ops.fake_quant(x, "hif8", scale=torch.ones(3), granularity="channel")
        with self.assertRaisesRegex(hifp8.Error, "does not divide"):
            ops.fake_quant(x, "hif8", granularity="group:3")
        with self.assertRaisesRegex(hifp8.Error, "finite and > 0"):
            ops.fake_quant(x, "hif8", scale=torch.zeros(1))
        with self.assertRaisesRegex(TypeError, "floating-point"):
            ops.fake_quant(torch.zeros(4, 8, dtype=torch.int32), "hif8")


class Gradients(unittest.TestCase):
    def test_clipped_straight_through_estimator(self):
        for f in hifp8.formats():
            for granularity, shape in CASES:
                for dtype in (torch.float32, torch.bfloat16):
                    what = f"{f.name} {granularity} {dtype}"
                    x = (heavy_tailed(shape) * 50).to(dtype).requires_grad_()  # some clip at these scales
                    with torch.no_grad():
                        x.view(-1)[:1] = float("inf") if x.numel() else 0
                    scale = torch.rand(hifp8.scale_shape(list(shape), granularity)) * 1e-2 + 1e-3
                    grad = torch.randn(shape).to(dtype)
                    for s in (None, scale):
                        x.grad = None
                        ops.fake_quant(x, f.name, scale=s, granularity=granularity).backward(grad)
                        want = expected_gradient(x, grad, f.name, s, granularity)
                        self.assertTrue(torch.equal(x.grad, want), what + (" given scales" if s is not None else ""))
                        if s is not None and x.numel() > 10:
                            clipped = (want == 0) & (grad != 0)
                            self.assertTrue(clipped.any(), what + ": the case clips nothing")

    def test_scale_gets_no_gradient_and_represented_inputs_pass_it_unchanged(self):
        x = torch.tensor([[0.5, -0.25], [1.0, 8.0]], requires_grad=True)
        scale = torch.ones(1, requires_grad=True)
        ops.fake_quant(x, "e4m3", scale=scale).sum().backward()
        self.assertIsNone(scale.grad)
        self.assertTrue(torch.equal(x.grad, torch.ones(2, 2)))


class Modules(unittest.TestCase):
    def test_fake_quant_linear_uses_quantized_weights_and_inputs(self):
        torch.manual_seed(0)
        linear = torch.nn.Linear(64, 32)
        q = ops.FakeQuantLinear.from_linear(linear, format="hif8")
        self.assertIs(q.weight, linear.weight)
        x = torch.randn(4, 3, 64)
        w = ops.fake_quant(linear.weight, "hif8", granularity="channel")
        xq = ops.fake_quant(x, "hif8", granularity="token")
        self.assertTrue(torch.equal(q(x), torch.nn.functional.linear(xq, w, linear.bias)))
        self.assertIn("hif8", repr(q))


@unittest.skipUnless(hasattr(torch, "compile") and hasattr(torch.library, "register_fake"),
                     "torch.compile of the op needs PyTorch 2.4+")
class Compile(unittest.TestCase):
    def test_the_op_traces_under_torch_compile(self):
        fn = torch.compile(lambda x: ops.fake_quant(x, "e4m3", granularity="token") * 2, backend="eager")
        x = heavy_tailed((4, 32))
        self.assertTrue(torch.equal(fn(x), ops.fake_quant(x, "e4m3", granularity="token") * 2))


if __name__ == "__main__":
    unittest.main()
