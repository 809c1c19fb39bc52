"""QuantizedTensor and quantize_checkpoint: the module writes what the CLI writes, byte for byte."""

import filecmp
import json
import subprocess
import unittest

import numpy as np

import hifp8
from support import TempDirTest, cli, read_checkpoint, shared_path, widen


class QuantizedTensors(unittest.TestCase):
    def test_quantize_round_trip_and_views(self):
        rng = np.random.default_rng()
        x = (rng.standard_t(3, size=(96, 256)) * 0.02).astype(np.float32)
        for f in hifp8.formats():
            q = hifp8.quantize(x, f, "block:32x64")
            self.assertEqual(q.shape, (96, 256))
            self.assertEqual(q.scales.shape, (3, 4))
            self.assertEqual(q.codes.dtype, np.uint8)
            self.assertEqual(q.nbytes, 96 * 256 + 4 * 12)
            self.assertEqual(q.format, f)
            self.assertEqual(q.granularity, "block:32x64")
            # scale = amax(block) / target
            block = np.abs(x[32:64, 64:128]).max()
            self.assertEqual(q.scales[1, 1], block / np.float32(f.default_target))
            # rebuilt from its arrays, it dequantizes to the same values
            again = hifp8.QuantizedTensor(q.codes.copy(), q.scales.copy(), f.name, "block:32x64")
            np.testing.assert_array_equal(again.dequantize(), q.dequantize())
            bf16 = q.dequantize(dtype="bfloat16")
            self.assertEqual(bf16.dtype, np.uint16)
            np.testing.assert_allclose(widen(bf16), q.dequantize(), rtol=2 ** -8)
        codes = q.codes
        del q  # the view keeps the tensor alive
        self.assertEqual(codes.shape, (96, 256))

    def test_nonfinite_policy(self):
        x = np.array([[1.0, np.nan], [np.inf, -2.0]], np.float32)
        with self.assertRaisesRegex(hifp8.Error, r"\[0, 1\]"):
            hifp8.quantize(x, "e4m3", "tensor")
        q = hifp8.quantize(x, "e4m3", "tensor", nonfinite="clamp")
        np.testing.assert_array_equal(q.dequantize(), [[1.0, 0.0], [2.0, -2.0]])
        with self.assertRaisesRegex(ValueError, "nonfinite"):
            hifp8.quantize(x, "e4m3", nonfinite="ignore")

    def test_bad_quantized_tensors_are_refused(self):
        with self.assertRaisesRegex(ValueError, "needs 4 scales"):
            hifp8.QuantizedTensor(np.zeros((4, 8), np.uint8), np.ones(3, np.float32), "hif8", "channel")
        with self.assertRaisesRegex(TypeError, "uint8"):
            hifp8.QuantizedTensor(np.zeros((4, 8), np.float32), np.ones(4, np.float32), "hif8", "channel")


class Checkpoints(TempDirTest):
    model = "models/stories260K"

    def test_the_module_writes_the_clis_files_and_reports_progress(self):
        model = shared_path(self.model)
        for scheme in ("fp8-dynamic", "hif8", "fp8-block"):
            by_cli = self.tmp / f"cli-{scheme}"
            subprocess.run([cli(), "quantize", str(model), str(by_cli), "--scheme", scheme, "--quiet"],
                           check=True, stdout=subprocess.DEVNULL)
            by_module = self.tmp / f"py-{scheme}"
            seen = []
            report = hifp8.quantize_checkpoint(str(model), str(by_module), scheme, progress=seen.append)
            self.assertEqual(report["scheme"], scheme)
            self.assertGreater(len(report["tensors"]), 0)
            self.assertTrue(seen, "no progress reported")
            self.assertEqual(seen[-1].bytes_done, seen[-1].bytes_total)
            self.assertEqual([p.bytes_done for p in seen], sorted(p.bytes_done for p in seen))
            files = sorted(p.name for p in by_cli.iterdir())
            self.assertEqual(files, sorted(p.name for p in by_module.iterdir()))
            for name in files:
                self.assertTrue(filecmp.cmp(by_cli / name, by_module / name, shallow=False), f"{scheme}: {name} differs")

    def test_weight_codes_equal_quantize_on_the_original_weight(self):
        model = shared_path(self.model)
        out = self.tmp / "q"
        hifp8.quantize_checkpoint(str(model), str(out), "hif8")
        original, quantized = read_checkpoint(model), read_checkpoint(out)
        name = "model.layers.0.mlp.up_proj.weight"
        q = hifp8.quantize(original[name], "hif8", "channel")  # bf16 weights as uint16 bits
        np.testing.assert_array_equal(quantized[name], q.codes)
        np.testing.assert_array_equal(quantized[name.replace(".weight", ".weight_scale")].reshape(-1), q.scales.reshape(-1))

    def test_an_exception_in_the_callback_stops_the_job_and_leaves_no_output(self):
        out = self.tmp / "stopped"

        def stop(progress):
            if progress.tensors_done >= 2:
                raise KeyboardInterrupt("stop")

        with self.assertRaises(KeyboardInterrupt):
            hifp8.quantize_checkpoint(str(shared_path(self.model)), str(out), "fp8-dynamic", progress=stop)
        self.assertFalse(out.exists())
        self.assertEqual([p for p in self.tmp.iterdir()], [])  # no temporary left either

    def test_bad_inputs_are_clear_errors(self):
        with self.assertRaisesRegex(hifp8.Error, "scheme"):
            hifp8.quantize_checkpoint(str(shared_path(self.model)), str(self.tmp / "x"), "fp9")
        with self.assertRaisesRegex(hifp8.Error, "not a model directory"):
            hifp8.quantize_checkpoint(str(self.tmp / "missing"), str(self.tmp / "y"))
        # Messages name the keyword arguments, not the CLI's options.
        existing = self.tmp / "existing"
        existing.mkdir()
        with self.assertRaisesRegex(hifp8.Error, r"already exists \(use force=True to replace it\)"):
            hifp8.quantize_checkpoint(str(shared_path(self.model)), str(existing))
        with self.assertRaisesRegex(hifp8.Error, r"^smooth_alpha needs calibration data \(calib\)$"):
            hifp8.quantize_checkpoint(str(shared_path(self.model)), str(self.tmp / "z"), smooth_alpha=0.5)
        names = [s["name"] for s in hifp8.schemes()]
        self.assertIn("fp8-dynamic", names)
        self.assertIn("hif8", names)


if __name__ == "__main__":
    unittest.main()
