"""HiF8Linear (hifp8.quantized_linear) on the CPU: the layers a native hif8 checkpoint loads into.

Oracles written here: the packed order from the kernel's index formula, and every product against
float64 x . (value(code) * scale)^T with the code values from the format's table.
"""

import io
import unittest

import numpy as np
import torch

import hifp8
from hifp8.quantized_linear import (
    HiF8Linear,
    dequantize_layers,
    disable_qat,
    enable_qat,
    pack_codes,
    quantize_model,
    quantized_layers,
    unpack_codes,
)
from support import TempDirTest, read_checkpoint, shared_path

GRANULARITIES = ["channel", "tensor", "group:32", "block:16x32"]


def expanded_scales(scale: np.ndarray, n: int, k: int, granularity: str) -> np.ndarray:
    """Each weight's scale, [n, k], from the scale grid (written independently of the library)."""
    s = np.asarray(scale, dtype=np.float64).reshape(hifp8.scale_shape((n, k), granularity))
    if granularity == "tensor":
        return np.full((n, k), s.reshape(-1)[0])
    if granularity == "channel":
        return np.repeat(s.reshape(n, 1), k, axis=1)
    if granularity.startswith("group:"):
        return np.repeat(s, int(granularity[6:]), axis=1)[:, :k]
    rows, cols = (int(v) for v in granularity[6:].split("x"))
    return np.repeat(np.repeat(s, rows, axis=0), cols, axis=1)[:n, :k]


def reference(x: torch.Tensor, codes: np.ndarray, scale: np.ndarray, granularity: str, fmt="hif8") -> np.ndarray:
    n, k = codes.shape
    w = hifp8.format_info(fmt).values().astype(np.float64)[codes] * expanded_scales(scale, n, k, granularity)
    return x.double().numpy() @ w.T


class Packing(unittest.TestCase):
    def test_pack_matches_the_kernel_index_formula(self):
        rng = np.random.default_rng()
        for n, k in [(16, 64), (37, 100), (1, 4), (48, 192)]:
            codes = rng.integers(0, 256, size=(n, k), dtype=np.uint8)
            packed = pack_codes(torch.from_numpy(codes)).numpy()
            n_p, k_p = -(-n // 16) * 16, -(-k // 64) * 64
            self.assertEqual(packed.shape, (n_p, k_p))
            expected = np.zeros((n_p, k_p), dtype=np.uint8)
            for c in range(k):  # logical k = 64 chunk + 16 j + 4 t + i is stored at 64 chunk + 16 t + 4 j + i
                chunk, j, t, i = c // 64, c % 64 // 16, c % 16 // 4, c % 4
                expected[:n, 64 * chunk + 16 * t + 4 * j + i] = codes[:, c]
            np.testing.assert_array_equal(packed, expected)
            np.testing.assert_array_equal(unpack_codes(torch.from_numpy(packed), n, k).numpy(), codes)


class Hif8LinearCpu(unittest.TestCase):
    def test_forward_equals_float64_reference_for_every_granularity(self):
        torch.manual_seed(np.random.SeedSequence().entropy % 2**31)
        for granularity in GRANULARITIES:
            for n, k, bias in [(48, 96, False), (37, 128, True)]:
                with self.subTest(granularity=granularity, n=n, k=k):
                    linear = torch.nn.Linear(k, n, bias=bias)
                    layer = HiF8Linear.from_linear(linear, granularity=granularity)
                    q = hifp8.quantize(linear.weight.detach().numpy(), "hif8", granularity)
                    np.testing.assert_array_equal(layer.codes().numpy(), q.codes)
                    x = torch.randn(5, 3, k)
                    y = layer(x)
                    self.assertEqual(tuple(y.shape), (5, 3, n))
                    expected = reference(x.reshape(-1, k), q.codes, q.scales, granularity)
                    if bias:
                        expected = expected + linear.bias.detach().double().numpy()
                    np.testing.assert_allclose(y.detach().reshape(-1, n).double().numpy(), expected, rtol=1e-5, atol=1e-5)
                    self.assertEqual(layer(torch.randn(0, k)).shape, (0, n))

    def test_bf16_input_gives_bf16_output(self):
        layer = HiF8Linear.from_linear(torch.nn.Linear(64, 32, bias=False))
        y = layer(torch.randn(4, 64, dtype=torch.bfloat16))
        self.assertEqual(y.dtype, torch.bfloat16)

    def test_state_dict_is_the_checkpoint_layout_and_round_trips(self):
        linear = torch.nn.Linear(128, 37, bias=True)
        layer = HiF8Linear.from_linear(linear, granularity="group:32")
        x = torch.randn(3, 128)
        y = layer(x)  # packs the codes
        self.assertTrue(layer.packed)
        state = layer.state_dict()
        self.assertEqual(sorted(state), ["bias", "weight", "weight_scale"])
        self.assertEqual(state["weight"].dtype, torch.uint8)
        self.assertEqual(tuple(state["weight"].shape), (37, 128))
        self.assertEqual(tuple(state["weight_scale"].shape), (37, 4))
        buffer = io.BytesIO()
        torch.save(state, buffer)
        buffer.seek(0)
        fresh = HiF8Linear(128, 37, bias=True, granularity="group:32")
        fresh.load_state_dict(torch.load(buffer))
        torch.testing.assert_close(fresh(x), y, rtol=0, atol=0)
        layer.load_state_dict(state)  # into a packed layer as well
        torch.testing.assert_close(layer(x), y, rtol=0, atol=0)

    def test_bad_input_names_the_problem(self):
        with self.assertRaises(hifp8.Error):
            HiF8Linear(64, 32, format="hif9")
        with self.assertRaises(hifp8.Error):
            HiF8Linear(64, 32, granularity="group:0")

    def test_dequantized_linear_computes_the_same(self):
        layer = HiF8Linear.from_linear(torch.nn.Linear(64, 48))
        plain = layer.to_linear(torch.float32)
        self.assertIsInstance(plain, torch.nn.Linear)
        x = torch.randn(7, 64)
        torch.testing.assert_close(plain(x), layer(x), rtol=1e-5, atol=1e-5)


class TinyModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(50, 64)
        self.up = torch.nn.Linear(64, 128, bias=False)
        self.down = torch.nn.Linear(128, 64, bias=False)
        self.lm_head = torch.nn.Linear(64, 50, bias=False)

    def forward(self, ids):
        h = self.embed(ids)
        h = h + self.down(torch.nn.functional.silu(self.up(h)))
        return self.lm_head(h)


class ModuleReplacementAndQat(unittest.TestCase):
    def test_quantize_model_replaces_every_linear_but_the_ignored(self):
        model = quantize_model(TinyModel())
        self.assertEqual([name for name, _ in quantized_layers(model)], ["up", "down"])
        self.assertIsInstance(model.lm_head, torch.nn.Linear)
        dequantize_layers(model, torch.float32)
        self.assertEqual(quantized_layers(model), [])
        self.assertIsInstance(model.up, torch.nn.Linear)

    def test_qat_trains_and_saves_reencoded_codes(self):
        torch.manual_seed(np.random.SeedSequence().entropy % 2**31)
        model = quantize_model(TinyModel())
        ids = torch.randint(0, 50, (8, 12))
        before = model(ids).detach()
        codes_before = {name: layer.codes().clone() for name, layer in quantized_layers(model)}
        params = enable_qat(model, torch.float32)
        self.assertEqual(len(params), 2)
        # Re-quantizing the dequantized weights gives the same codes: QAT starts from the loaded model.
        torch.testing.assert_close(model(ids), before, rtol=1e-5, atol=1e-5)
        for name, codes in model.state_dict().items():
            if name.endswith(("up.weight", "down.weight")):
                torch.testing.assert_close(codes, codes_before[name.rsplit(".", 1)[0]], rtol=0, atol=0)
        optimizer = torch.optim.SGD(params, lr=0.5)
        target = torch.randint(0, 50, (8, 12))
        losses = []
        for _ in range(30):
            loss = torch.nn.functional.cross_entropy(model(ids).reshape(-1, 50), target.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        self.assertLess(losses[-1], losses[0])
        trained = model(ids).detach()
        state = model.state_dict()
        for name, layer in quantized_layers(model):
            q = hifp8.quantize(layer.master_weight.detach().numpy(), "hif8", "channel")
            np.testing.assert_array_equal(state[name + ".weight"].numpy(), q.codes)
            self.assertFalse(any(key.endswith("master_weight") for key in state))
        fresh = quantize_model(TinyModel())
        fresh.load_state_dict(state)
        torch.testing.assert_close(fresh(ids), trained, rtol=1e-5, atol=1e-5)
        disable_qat(model)
        self.assertTrue(all(layer.master_weight is None for _, layer in quantized_layers(model)))
        torch.testing.assert_close(model(ids), trained, rtol=1e-5, atol=1e-5)


class NativeCheckpoint(TempDirTest):
    def test_every_layer_of_a_native_checkpoint_loads_and_computes(self):
        out = self.tmp / "hif8"
        hifp8.quantize_checkpoint(str(shared_path("models/stories260K")), str(out), "hif8")
        tensors = read_checkpoint(out)
        quantized = [name[: -len(".weight_scale")] for name in tensors if name.endswith(".weight_scale")]
        self.assertTrue(quantized)
        for module in quantized:
            codes, scale = tensors[module + ".weight"], tensors[module + ".weight_scale"]
            n, k = codes.shape
            layer = HiF8Linear(k, n)
            layer.load_state_dict({"weight": torch.from_numpy(codes.copy()), "weight_scale": torch.from_numpy(scale.copy())})
            x = torch.randn(3, k)
            np.testing.assert_allclose(layer(x).double().numpy(), reference(x, codes, scale, "channel"), rtol=1e-5,
                                       atol=1e-5)
            state = layer.state_dict()
            np.testing.assert_array_equal(state["weight"].numpy(), codes)
            np.testing.assert_array_equal(state["weight_scale"].numpy(), scale)


if __name__ == "__main__":
    unittest.main()
