"""Native hif8 checkpoints in transformers (hifp8.transformers) on the GPU.

Checks from_pretrained's module replacement and codes, the memory of the linear weights, logits
against hifp8's own GPU engine (`hifp8 logits --device cuda`) with the bf16 model's transformers-vs-
engine difference as the tolerance, generate, dequantize=True, the CPU path, and the save_pretrained
round trip with and without QAT (`hifp8 inspect --validate` accepts it, hifp8's engine runs it).
"""

import json
import subprocess
import unittest

import numpy as np
import torch
from transformers import AutoModelForCausalLM

import hifp8
import hifp8.transformers  # noqa: F401  (registers quant_method "hif8")
from hifp8.quantized_linear import HiF8Linear, enable_qat, quantized_layers
from hifp8.transformers import HiF8Config
from support import TempDirTest, cli, read_checkpoint, shared_path

LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def run_cli(*args) -> str:
    done = subprocess.run([cli(), *map(str, args)], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"hifp8 {' '.join(map(str, args))} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def engine_logits(model_dir, ids) -> torch.Tensor:
    out = run_cli("logits", "--model", model_dir, "--device", "cuda", "--json", "--tokens", ",".join(map(str, ids)))
    return torch.tensor(json.loads(out)["logits"], dtype=torch.float64)


def hf_logits(model, ids) -> torch.Tensor:
    device = next(p.device for p in model.parameters())
    with torch.no_grad():
        return model(torch.tensor([ids], device=device)).logits[0].double().cpu()


def compare(ref: torch.Tensor, got: torch.Tensor) -> dict:
    logp, logq = torch.log_softmax(ref, -1), torch.log_softmax(got, -1)
    return {
        "max_abs": (ref - got).abs().max().item(),
        "kl": (logp.exp() * (logp - logq)).sum(-1).mean().item(),
        "top1": (ref.argmax(-1) == got.argmax(-1)).double().mean().item(),
    }


def load(model_dir, **kwargs):
    kwargs.setdefault("device_map", "cuda")
    return AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.bfloat16, **kwargs).eval()


class Hif8InTransformers(TempDirTest):
    @classmethod
    def setUpClass(cls):
        import tempfile, pathlib  # noqa: E401

        cls.root = pathlib.Path(tempfile.mkdtemp(prefix="hifp8-hf-"))
        cls.original = shared_path("models/pd-llama-15M")
        cls.hif8 = cls.root / "pd-llama-15M-hif8"
        run_cli("quantize", cls.original, cls.hif8, "--scheme", "hif8", "--quiet")
        text = shared_path("data/valid_moby_dick.txt").read_text()[:2000]
        ids = run_cli("tokenize", "--model", cls.original, "--text", text, "--ids-only").split()
        cls.ids = [int(t) for t in ids[:128]]

    @classmethod
    def tearDownClass(cls):
        import shutil

        shutil.rmtree(cls.root, ignore_errors=True)

    def test_from_pretrained_keeps_the_codes_on_the_gpu(self):
        model = load(self.hif8)
        layers = dict(quantized_layers(model))
        self.assertEqual(len(layers), 8 * len(LINEARS))
        self.assertTrue(all(name.endswith(LINEARS) for name in layers))
        self.assertNotIsInstance(model.lm_head, HiF8Linear)
        tensors = read_checkpoint(self.hif8)
        for name, layer in layers.items():
            self.assertEqual(layer.weight.dtype, torch.uint8)
            self.assertEqual(layer.weight.device.type, "cuda")
            np.testing.assert_array_equal(layer.codes().cpu().numpy(), tensors[name + ".weight"])
            np.testing.assert_array_equal(layer.weight_scale.detach().cpu().numpy(), tensors[name + ".weight_scale"])

    def test_linear_weights_take_half_the_memory_of_bf16(self):
        quantized = dict(quantized_layers(load(self.hif8)))
        plain = dict(load(self.original).named_modules())
        q_bytes = sum(layer.weight_bytes for layer in quantized.values())
        bf16_bytes = sum(plain[name].weight.numel() * plain[name].weight.element_size() for name in quantized)
        print(f"\nlinear weights: hif8 {q_bytes} bytes, bf16 {bf16_bytes} bytes, ratio {q_bytes / bf16_bytes:.4f}")
        self.assertLess(q_bytes / bf16_bytes, 0.51)

    def test_logits_equal_the_hifp8_engine_within_bf16_tolerance(self):
        bf16 = compare(engine_logits(self.original, self.ids), hf_logits(load(self.original), self.ids))
        hif8 = compare(engine_logits(self.hif8, self.ids), hf_logits(load(self.hif8), self.ids))
        print(f"\ntransformers vs hifp8 GPU engine: bf16 model {bf16}, hif8 model {hif8}")
        self.assertLessEqual(hif8["max_abs"], 2 * bf16["max_abs"] + 0.05)
        self.assertLessEqual(hif8["kl"], 2 * bf16["kl"] + 1e-4)
        self.assertGreaterEqual(hif8["top1"], bf16["top1"] - 0.02)

    def test_generate_greedy_equals_the_dequantized_model(self):
        prompt = torch.tensor([self.ids[:16]], device="cuda")
        quantized, plain = load(self.hif8), load(self.hif8, quantization_config=HiF8Config(dequantize=True))
        with torch.no_grad():
            a = quantized.generate(prompt, max_new_tokens=24, do_sample=False)
            b = plain.generate(prompt, max_new_tokens=24, do_sample=False)
        self.assertEqual(a.shape[1], 16 + 24)
        self.assertEqual(a.tolist(), b.tolist())

    def test_dequantize_gives_a_plain_bf16_model(self):
        ref = hf_logits(load(self.hif8), self.ids)
        afterwards = load(self.hif8)
        afterwards.dequantize()
        for model in (load(self.hif8, quantization_config=HiF8Config(dequantize=True)), afterwards):
            self.assertEqual(quantized_layers(model), [])
            up = model.model.layers[0].mlp.up_proj
            self.assertIsInstance(up, torch.nn.Linear)
            self.assertEqual(up.weight.dtype, torch.bfloat16)
            self.assertLess(compare(ref, hf_logits(model, self.ids))["max_abs"], 0.1)

    def test_cpu_placement_runs_the_cpu_kernels(self):
        cpu = hf_logits(load(self.hif8, device_map="cpu"), self.ids[:32])
        gpu = hf_logits(load(self.hif8), self.ids[:32])
        self.assertGreaterEqual(compare(gpu, cpu)["top1"], 0.95)

    def test_save_pretrained_writes_a_native_checkpoint_again(self):
        out = self.tmp / "resaved"
        load(self.hif8).save_pretrained(out)
        config = json.loads((out / "config.json").read_text())["quantization_config"]
        self.assertEqual(config["quant_method"], "hif8")
        self.assertNotIn("dequantize", config)
        run_cli("inspect", out, "--validate")
        original, resaved = read_checkpoint(self.hif8), read_checkpoint(out)
        for name, codes in original.items():
            if name.endswith((".weight", ".weight_scale")) and name.rsplit(".", 2)[-2] in LINEARS:
                np.testing.assert_array_equal(resaved[name], codes)
        torch.testing.assert_close(engine_logits(out, self.ids[:32]), engine_logits(self.hif8, self.ids[:32]),
                                   rtol=0, atol=0)

    def test_qat_round_trip(self):
        model = load(self.hif8)
        params = enable_qat(model)
        optimizer = torch.optim.AdamW(params, lr=1e-4)
        ids = torch.tensor([self.ids], device="cuda")
        for _ in range(10):
            loss = model(ids, labels=ids).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        out = self.tmp / "qat"
        model.save_pretrained(out)
        run_cli("inspect", out, "--validate")
        saved = read_checkpoint(out)
        name, layer = quantized_layers(model)[0]
        q = hifp8.quantize(layer.master_weight.detach().float().cpu().numpy(), "hif8", "channel")
        np.testing.assert_array_equal(saved[name + ".weight"], q.codes)
        np.testing.assert_array_equal(saved[name + ".weight_scale"], q.scales)
        self.assertFalse(np.array_equal(saved[name + ".weight"], read_checkpoint(self.hif8)[name + ".weight"]))
        reloaded = compare(engine_logits(out, self.ids), hf_logits(load(out), self.ids))
        trained = compare(hf_logits(load(out), self.ids), hf_logits(model, self.ids))
        print(f"\nQAT checkpoint: engine vs transformers {reloaded}; reloaded vs trained model {trained}")
        self.assertGreaterEqual(reloaded["top1"], 0.95)
        self.assertLess(trained["max_abs"], 0.1)


if __name__ == "__main__":
    unittest.main()
