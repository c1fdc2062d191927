"""Which convolution implementation the layers use, chosen by backend.

XLA's CPU backend is slow on some convolutions that accelerators run well: small maps with many
channels (the translation models' im2col `padded_conv.conv2d`) and the kernel gradient of a
transposed convolution (`transposed_conv.up_conv`'s custom VJP, `padded_conv.TransposedConv2x`'s
phase decomposition). Those workarounds were chosen by CPU timings only, so they run on the CPU
alone; GPUs and TPUs get XLA's own convolutions until a measurement there says otherwise
(benchmarks/README.md). Both paths compute the same function and parameters (tests/test_backend.py).

`config.conv_impl`: 'auto' (by jax.default_backend() when the layer is traced), 'xla' or
'cpu_workarounds' (to compare or test them anywhere).
"""

from __future__ import annotations

import jax

IMPLS = ("auto", "xla", "cpu_workarounds")
_setting = "auto"


def set_conv_impl(name: str) -> None:
  global _setting
  if name not in IMPLS:
    raise ValueError(f"unknown conv_impl {name!r}; expected one of {IMPLS}")
  _setting = name


def conv_impl() -> str:
  return _setting


def use_cpu_workarounds() -> bool:
  """Decided at trace time: a jitted function keeps the choice it was traced with."""
  if _setting == "auto":
    return jax.default_backend() == "cpu"
  return _setting == "cpu_workarounds"
