"""Runs one suite of the Python tests: numpy (test_numpy_*.py), torch (test_torch_*.py, needs PyTorch),
cuda (test_cuda_*.py, needs PyTorch with a GPU and hifp8's CUDA backend) or transformers
(test_transformers_*.py, needs transformers and accelerate, a GPU and the CUDA backend). A suite whose
requirement is missing prints why and exits 77, which CTest reports as skipped."""

import os
import sys
import unittest

SKIPPED = 77


def missing_requirement(suite: str) -> str:
    if suite == "numpy":
        return ""
    try:
        import torch
    except ImportError as e:
        return f"PyTorch is not installed ({e}); Debian 12: apt-get install python3-torch"
    if suite == "transformers":
        try:
            import accelerate  # noqa: F401  (device_map placement)
            import transformers  # noqa: F401
        except ImportError as e:
            return (f"transformers/accelerate are not installed ({e}); Debian 12 packages neither and PyPI is "
                    "unreachable here: scripts/device/transformers_check.sh runs this suite on the GPU machine")
    if suite in ("cuda", "transformers"):
        import hifp8

        if not torch.cuda.is_available():
            return "PyTorch sees no CUDA device"
        if not hifp8.cuda_available():
            return "hifp8 has no usable CUDA backend: " + hifp8.cuda_device()
    return ""


def main() -> int:
    if len(sys.argv) != 2 or sys.argv[1] not in ("numpy", "torch", "cuda", "transformers"):
        print("usage: run.py numpy|torch|cuda|transformers", file=sys.stderr)
        return 2
    suite = sys.argv[1]
    reason = missing_requirement(suite)
    if reason:
        print(f"python {suite} tests skipped: {reason}")
        return SKIPPED
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    tests = unittest.defaultTestLoader.discover(here, pattern=f"test_{suite}_*.py")
    result = unittest.TextTestRunner(verbosity=2).run(tests)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
