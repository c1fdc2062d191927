"""Test-session settings (made here, before any worker starts JAX, so every worker has them)."""

import atexit
import os
import shutil
import tempfile

# Training runs write JAX's persistent compilation cache (config.compilation_cache 'auto'):
# the tests' runs use a folder of their own, removed at the end, not the user's ~/.cache.
if "JAXGAN_XLA_CACHE" not in os.environ:
  _cache = tempfile.mkdtemp(prefix="jaxgan_test_xla_")
  os.environ["JAXGAN_XLA_CACHE"] = _cache
  atexit.register(shutil.rmtree, _cache, ignore_errors=True)

# The tests' models are tiny: their time goes to XLA compiling them, not to running them. The
# backend's optimisation level 0 (LLVM's code generation; XLA's own graph passes still run)
# halves that time (a tiny ProGAN run: 101 -> 54 CPU s) and computes the same functions, up to
# floating-point rounding: a test that compares a subprocess's run with
# its own (the forced-device-count ones) passes these flags on. Training runs outside the tests
# keep XLA's default.
_flags = os.environ.get("XLA_FLAGS", "")
if "xla_backend_optimization_level" not in _flags:
  os.environ["XLA_FLAGS"] = (_flags + " --xla_backend_optimization_level=0").strip()
