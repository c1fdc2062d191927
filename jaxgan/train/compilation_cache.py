"""JAX's persistent compilation cache for training runs (config.compilation_cache).

A training run compiles its init, its step variants and its sampling functions before the
first step; with the cache on, a second start of the same config on the same machine (a resume,
a rerun, a sweep over seeds) reads the compiled executables from disk instead of running XLA
again. benchmarks/README.md measures what that saves.

'auto': $JAXGAN_XLA_CACHE, else a folder already given to JAX (JAX_COMPILATION_CACHE_DIR or
jax.config), else ~/.cache/jaxgan/xla. 'off': no persistent cache. Anything else: that folder.
JAX keys each entry by the computation, the compiler options, the backend and its version, so
one folder serves every config and device kind; entries are written for every compilation
(no minimum compile time), since the small ones add up to seconds at each start on a CPU.
"""

from __future__ import annotations

import os

import jax
from jax.experimental.compilation_cache import compilation_cache

from jaxgan.errors import JaxganError

ENV = "JAXGAN_XLA_CACHE"


def default_dir() -> str:
  return os.path.join(os.path.expanduser("~"), ".cache", "jaxgan", "xla")


def resolve(setting: str) -> str | None:
  """The folder `setting` names (None for 'off')."""
  if setting == "off":
    return None
  if setting == "auto":
    return os.environ.get(ENV) or jax.config.jax_compilation_cache_dir or default_dir()
  return os.path.expanduser(setting)


def enable(setting: str) -> str | None:
  """Points this process's compilations at the cache folder of `setting` (made if missing);
  returns it, or None when the setting is 'off' (then nothing is cached)."""
  path = resolve(setting)
  if path is None:
    if jax.config.jax_enable_compilation_cache:
      jax.config.update("jax_enable_compilation_cache", False)
      compilation_cache.reset_cache()
    return None
  try:
    os.makedirs(path, exist_ok=True)
  except OSError as e:
    raise JaxganError(f"compilation_cache: cannot make the folder {path} ({e.strerror}); set "
                      "--config.compilation_cache=off or another folder") from e
  if not os.access(path, os.W_OK):
    raise JaxganError(f"compilation_cache: the folder {path} is not writable; set "
                      "--config.compilation_cache=off or another folder")
  if jax.config.jax_compilation_cache_dir != path or not jax.config.jax_enable_compilation_cache:
    jax.config.update("jax_enable_compilation_cache", True)
    jax.config.update("jax_compilation_cache_dir", path)
    # JAX decides once per process whether a cache is in use; a process that compiled before
    # (a test, a notebook) decides again with this folder.
    compilation_cache.reset_cache()
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  return path
