"""Test-session settings."""

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
