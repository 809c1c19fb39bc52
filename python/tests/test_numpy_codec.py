"""Formats, encode, decode and fake_quant on numpy arrays: against the golden vectors, the CLI's bytes,
and the definitions (zero-copy, dtypes, errors)."""

import subprocess
import unittest

import numpy as np

import hifp8
from support import TempDirTest, cli, random_wide, shared_path, widen


def run_cli(*args, input_bytes: bytes) -> bytes:
    return subprocess.run([cli(), *args], input=input_bytes, stdout=subprocess.PIPE, check=True).stdout


class Formats(unittest.TestCase):
    def test_registry_is_the_clis(self):
        listed = subprocess.run([cli(), "formats"], stdout=subprocess.PIPE, check=True, text=True).stdout
        for f in hifp8.formats():
            self.assertIn(f.name, listed)
        self.assertEqual(hifp8.format_info("e4m3").max_finite, 448.0)
        self.assertEqual(hifp8.format_info("E5M2").name, "fp8_e5m2")
        self.assertEqual(hifp8.format_info("hif8").default_target, 16.0)
        self.assertEqual(hifp8.format_info(hifp8.format_info("int8")), hifp8.format_info("int8"))
        values = hifp8.format_info("fp8_e4m3fn").values()
        self.assertEqual(values.dtype, np.float32)
        self.assertEqual(values[0x7E], 448.0)
        self.assertTrue(np.isnan(values[0x7F]))

    def test_unknown_format_is_an_error_listing_the_known_ones(self):
        with self.assertRaises(hifp8.Error) as e:
            hifp8.encode(np.zeros(4, np.float32), "fp7")
        self.assertIn("hif8", str(e.exception))
        self.assertIsInstance(e.exception, ValueError)
        with self.assertRaises(TypeError):
            hifp8.encode(np.zeros(4, np.float32), 3)

    def test_granularity_and_scale_shapes(self):
        self.assertEqual(hifp8.scale_shape([300, 520], "block"), (3, 5))
        self.assertEqual(hifp8.scale_shape([2, 3, 64], "group:16"), (2, 3, 4))
        self.assertEqual(hifp8.scale_shape([7, 9], "channel"), (7, 1))
        g = hifp8.Granularity("block:64x32")
        self.assertEqual((g.kind, g.block_rows, g.block_cols), ("block", 64, 32))
        with self.assertRaises(hifp8.Error):
            hifp8.scale_shape([6, 10], "group:4")
        with self.assertRaises(hifp8.Error):
            hifp8.Granularity("rows")


class GoldenVectors(unittest.TestCase):
    """Every row of ../shared/spec/vectors, through the numpy entry points."""

    def test_every_row(self):
        for stem in ("hif8", "fp8_e4m3fn", "fp8_e5m2"):
            rows = np.loadtxt(shared_path(f"spec/vectors/{stem}_encode.tsv"), dtype=str, delimiter="\t", skiprows=1)
            bits = np.array([int(r, 16) for r in rows[:, 0]], dtype=np.uint32)
            plain = np.array([int(c, 16) for c in rows[:, 1]], dtype=np.uint8)
            saturating = np.array([int(c, 16) for c in rows[:, 2]], dtype=np.uint8)
            np.testing.assert_array_equal(hifp8.encode(bits.view(np.float32), stem), plain, err_msg=stem)
            np.testing.assert_array_equal(hifp8.encode(bits.view(np.float32), stem, saturate=True), saturating)
            rows = np.loadtxt(shared_path(f"spec/vectors/{stem}_decode.tsv"), dtype=str, delimiter="\t", skiprows=1)
            codes = np.array([int(c, 16) for c in rows[:, 0]], dtype=np.uint8)
            want = np.array([int(v, 16) for v in rows[:, 1]], dtype=np.uint32)
            got = hifp8.decode(codes, stem).view(np.uint32)
            nan = np.isnan(want.view(np.float32))
            np.testing.assert_array_equal(got[~nan], want[~nan], err_msg=stem)
            self.assertTrue(np.isnan(got[nan].view(np.float32)).all())


class EqualsTheCli(unittest.TestCase):
    """The module and `hifp8 encode` / `hifp8 decode` give the same bytes for fresh random inputs."""

    def test_encode_and_decode(self):
        rng = np.random.default_rng()
        for f in hifp8.formats():
            for dtype, cli_dtype in (("float32", "f32"), ("float16", "f16"), ("bfloat16", "bf16")):
                x = random_wide((37, 129), dtype, rng)
                for saturate in (False, True):
                    flags = ["--saturate"] if saturate else []
                    want = run_cli("encode", "--format", f.name, "--input-dtype", cli_dtype, *flags,
                                   input_bytes=x.tobytes())
                    got = hifp8.encode(x, f, saturate=saturate)
                    self.assertEqual(got.shape, x.shape)
                    self.assertEqual(got.tobytes(), want, f"{f.name} {dtype} saturate={saturate}")
                codes = rng.integers(0, 256, size=1000, dtype=np.uint8)
                want = run_cli("decode", "--format", f.name, "--out-dtype", cli_dtype, input_bytes=codes.tobytes())
                self.assertEqual(hifp8.decode(codes, f.name, dtype=dtype).tobytes(), want, f"{f.name} {dtype}")


class Arrays(TempDirTest):
    def test_outputs_are_written_in_place_without_copies(self):
        x = np.random.default_rng().standard_normal((64, 256)).astype(np.float32)
        codes = np.empty(x.shape, np.uint8)
        self.assertIs(hifp8.encode(x, "e4m3", out=codes), codes)
        values = np.empty(x.shape, np.float16)
        self.assertIs(hifp8.decode(codes, "e4m3", dtype="float16", out=values), values)
        y = x.copy()
        self.assertIs(hifp8.fake_quant(y, "hif8", granularity="channel", out=y), y)  # in place
        np.testing.assert_array_equal(y, hifp8.fake_quant(x, "hif8", granularity="channel"))
        self.assertFalse(np.shares_memory(y, x))

    def test_non_contiguous_inputs_are_read_correctly(self):
        x = np.random.default_rng().standard_normal((64, 256)).astype(np.float32)
        view = x[::2, 1::3]
        np.testing.assert_array_equal(hifp8.encode(view, "hif8"), hifp8.encode(np.ascontiguousarray(view), "hif8"))

    def test_bfloat16_and_float16_round_trip(self):
        for f in hifp8.formats():
            codes = np.arange(256, dtype=np.uint8)
            values = f.values()
            finite = np.abs(values) <= f.max_finite  # not NaN/Inf, nor INT8's -128 (encoders stop at -127)
            for dtype in ("float16", "bfloat16"):
                decoded = hifp8.decode(codes, f, dtype=dtype)
                np.testing.assert_array_equal(widen(decoded)[finite], values[finite], err_msg=f"{f.name} {dtype}")
                # every value is exact in the narrow type, so it encodes back to its own code
                again = hifp8.encode(decoded[finite], f)
                np.testing.assert_array_equal(f.values()[again], values[finite])

    def test_fake_quant_equals_quantize_then_dequantize_for_every_granularity(self):
        rng = np.random.default_rng()
        cases = [("tensor", (3, 5, 7)), ("channel", (64, 96)), ("token", (2, 5, 128)), ("group:32", (6, 128)),
                 ("block:16x8", (33, 17)), ("block", (130, 260))]
        for f in hifp8.formats():
            for granularity, shape in cases:
                x = (rng.standard_t(3, size=shape) * 0.02).astype(np.float32)
                q = hifp8.quantize(x, f, granularity)
                np.testing.assert_array_equal(hifp8.fake_quant(x, f, granularity=granularity), q.dequantize(),
                                              err_msg=f"{f.name} {granularity}")
                # the same scales given explicitly give the same values
                np.testing.assert_array_equal(hifp8.fake_quant(x, f, granularity=granularity, scale=q.scales),
                                              q.dequantize())

    def test_fake_quant_with_given_scales_is_the_definition(self):
        x = np.array([[0.1, -0.2, 5.0, -9.0], [1e-3, np.inf, np.nan, 0.0]], dtype=np.float32)
        s = np.array([[0.01], [0.001]], dtype=np.float32)
        f = hifp8.format_info("e4m3")
        y = hifp8.fake_quant(x, f, granularity="channel", scale=s)
        want = f.values()[hifp8.encode(x / s, f, saturate=True)] * s
        np.testing.assert_array_equal(np.isnan(y), np.isnan(want))
        np.testing.assert_array_equal(y[~np.isnan(y)], want[~np.isnan(want)])
        self.assertEqual(y[0, 3], np.float32(-448) * s[0, 0])  # clipped
        self.assertEqual(y[1, 1], np.float32(448) * s[1, 0])   # Inf saturates
        # a number is every group's scale
        np.testing.assert_array_equal(hifp8.fake_quant(x, f, granularity="channel", scale=0.01),
                                      hifp8.fake_quant(x, f, granularity="channel", scale=np.full((2, 1), 0.01, np.float32)))

    def test_fake_quant_keeps_the_narrow_dtype(self):
        rng = np.random.default_rng()
        x16 = random_wide((8, 64), "float16", rng)
        x16[~np.isfinite(x16)] = 0
        y = hifp8.fake_quant(x16, "e5m2", granularity="token")
        self.assertEqual(y.dtype, np.float16)
        np.testing.assert_array_equal(y, hifp8.fake_quant(x16.astype(np.float32), "e5m2", granularity="token").astype(np.float16))

    def test_empty_scalar_and_large_arrays(self):
        self.assertEqual(hifp8.encode(np.zeros((0, 8), np.float32), "hif8").shape, (0, 8))
        self.assertEqual(hifp8.fake_quant(np.zeros((0, 8), np.float32), "hif8", granularity="channel").shape, (0, 8))
        self.assertEqual(hifp8.encode(np.float32(448.0), "e4m3").shape, ())
        self.assertEqual(int(hifp8.encode(np.float32(448.0), "e4m3")), 0x7E)
        big = np.full((1 << 25) + 3, 0.5, np.float32)  # 128 MiB, odd length
        codes = hifp8.encode(big, "e4m3")
        self.assertTrue((codes == codes[0]).all())
        self.assertEqual(hifp8.decode(codes[-5:], "e4m3")[0], 0.5)

    def test_bad_arguments_are_clear_errors(self):
        x = np.zeros((4, 8), np.float32)
        with self.assertRaisesRegex(TypeError, "float32, float16 or bfloat16"):
            hifp8.encode(np.zeros(4), "hif8")  # float64
        with self.assertRaisesRegex(TypeError, "uint8"):
            hifp8.decode(np.zeros(4, np.int32), "hif8")
        with self.assertRaisesRegex(ValueError, "wrong shape"):
            hifp8.encode(x, "hif8", out=np.empty((4, 9), np.uint8))
        with self.assertRaisesRegex(TypeError, "dtype"):
            hifp8.encode(x, "hif8", out=np.empty((4, 8), np.int8))
        with self.assertRaisesRegex(ValueError, "read-only"):
            ro = np.empty((4, 8), np.uint8)
            ro.flags.writeable = False
            hifp8.encode(x, "hif8", out=ro)
        with self.assertRaisesRegex(hifp8.Error, "scales"):
            hifp8.fake_quant(x, "hif8", granularity="channel", scale=np.ones(3, np.float32))
        with self.assertRaisesRegex(hifp8.Error, "finite and > 0"):
            hifp8.fake_quant(x, "hif8", granularity="channel", scale=np.array([1, 1, 0, 1], np.float32))
        with self.assertRaisesRegex(hifp8.Error, "does not divide"):
            hifp8.fake_quant(x, "hif8", granularity="group:3")
        with self.assertRaisesRegex(ValueError, "dtype must be"):
            hifp8.decode(np.zeros(4, np.uint8), "hif8", dtype="float64")


if __name__ == "__main__":
    unittest.main()
