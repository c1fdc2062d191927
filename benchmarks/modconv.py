"""StyleGAN2's modulated convolution: the grouped form against the fused form on this backend.

Times jit-compiled forward and forward+backward (gradient w.r.t. input, weight and styles) of
jaxgan.nn.style.modulated_conv2d (3x3, demodulated, 'SAME') at a few (batch, channels, size):
median wall-clock and CPU time (process_time) of several calls after a warm-up; prints one JSON
object per size and the load average (`uptime`) before and after, since the CPU is shared.
Sizes are BxCxS: batch, input = output channels, height = width.

  PYTHONPATH=. python benchmarks/modconv.py [--repeats 5] [--sizes 4x64x16,8x128x32] [--up | --only-up]

--up also times the 2x-upsampling layer in jaxgan's order (FIR upsampling, then the conv), in
the official one (transposed conv, then the FIR filter) and with the transposed conv in polyphase
form (one conv at the input size, then the filter), at half the given size (so the output is the
given size); --only-up times that layer alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.nn import fir
from jaxgan.nn.style import demodulation_coefficients, modulated_conv2d


def _time(fn, args, repeats):
  """Median wall-clock and CPU (process_time, all threads) seconds per call."""
  jax.block_until_ready(fn(*args))  # compile and warm up
  wall, cpu = [], []
  for _ in range(repeats):
    t0, c0 = time.perf_counter(), time.process_time()
    jax.block_until_ready(fn(*args))
    wall.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)
  return float(np.median(wall)), float(np.median(cpu))


def measure(n, c, size, repeats):
  kx, kw, ks = jax.random.split(jax.random.PRNGKey(0), 3)
  x = jax.random.normal(kx, (n, size, size, c))
  weight = jax.random.normal(kw, (3, 3, c, c))
  styles = jax.random.normal(ks, (n, c)) + 1.0
  out = {"batch": n, "channels": c, "size": size}
  for impl in ("grouped", "fused"):
    fwd = jax.jit(lambda x, w, s, impl=impl: modulated_conv2d(x, w, s, impl=impl))
    loss = lambda x, w, s, impl=impl: jnp.sum(jnp.square(modulated_conv2d(x, w, s, impl=impl)))
    bwd = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))
    for name, fn in (("fwd", fwd), ("fwd_bwd", bwd)):
      wall, cpu = _time(fn, (x, weight, styles), repeats)
      out[f"{impl}_{name}_ms"] = round(1e3 * wall, 3)
      out[f"{impl}_{name}_cpu_ms"] = round(1e3 * cpu, 3)
  return out


def _up_fir_first(x, weight, styles):
  """jaxgan's upsampling modulated conv (fused form): FIR 2x upsampling, then the unpadded 3x3
  conv, computed as the interior of the 'SAME' one as jaxgan.nn.style.ModulatedConv does."""
  x = fir.upfirdn2d(x, fir.RESAMPLE_STYLEGAN2, up=2, pad=(3, 2), gain=4.0)
  return modulated_conv2d(x, weight, styles, True, "SAME", impl="fused")[:, 1:-1, 1:-1, :]


def _polyphase_selection(k: int, up: int, pad0: int):
  """Which tap of a k-tap kernel each output phase of a stride-`up` transposed conv reads.

  Per axis, v[j] = sum_a K[a] u[j + a] where u holds x[i] at up*i + pad0 and zeros elsewhere:
  output j = up*q + r reads x[q + d] through tap a where r + a - pad0 = up*d. Returns (S, dmin)
  with S[d - dmin, r, a] = 1 for those (d, r, a): an array [D, up, k].
  """
  taps = [(r, a, (r + a - pad0) // up) for r in range(up) for a in range(k)
          if (r + a - pad0) % up == 0]
  dmin = min(d for _, _, d in taps)
  sel = np.zeros((max(d for _, _, d in taps) - dmin + 1, up, k), np.float32)
  for r, a, d in taps:
    sel[d - dmin, r, a] = 1.0
  return sel, dmin


def upsampling_modulated_conv2d(x, weight, styles, demodulate: bool = True,
                                taps: Sequence[int] = fir.RESAMPLE_STYLEGAN2, up: int = 2,
                                impl: str = "fused", dtype=None):
  """StyleGAN2's upsampling modulated conv: [N, H, W, I] -> [N, up H, up W, O], k x k kernel.

  The function: FIR upsampling (upfirdn2d with `up`, gain up^2, padding as
  stylegan2-ada-pytorch's upsample2d widened by k//2), then the unpadded k x k modulated conv;
  equal to the official stride-`up` transposed conv followed by the filter. Computed as the
  official order, with the transposed conv in polyphase form: each of the up^2 output phases is
  an ordinary convolution of x at the input resolution with a sub-kernel of the taps it reads,
  all phases as one conv with up^2 O output channels, then interleaved, and the FIR filter
  (linear and shift-invariant, so it commutes with the conv) runs last at the output size. A
  candidate measured against jaxgan's form (benchmarks/README.md), not used by the models: its
  backward pass was the slowest of the three on XLA CPU.
  """
  dtype = dtype or x.dtype
  n, h, w, _ = x.shape
  k, o = weight.shape[0], weight.shape[-1]
  fw, p = len(taps), k // 2
  pad0, pad1 = (fw + up - 1) // 2 + p, (fw - up) // 2 + p
  sel, dmin = _polyphase_selection(k, up, pad0)
  span = sel.shape[0]
  # [D, D, I, up * up * O], output channel (r, s, o) with o fastest.
  packed = jnp.einsum("yra,xsb,abio->yxirso", sel, sel, weight.astype(jnp.float32))
  packed = packed.reshape(span, span, weight.shape[2], up * up * o)
  sizes = [up * d + pad0 + pad1 - k + 1 for d in (h, w)]  # v per axis, before the filter
  phases = [-(-s // up) for s in sizes]  # q per axis
  padding = [(-dmin, q + span - 1 - d + dmin) for q, d in zip(phases, (h, w))]
  y = modulated_conv2d(x, packed, styles, False, padding, impl, dtype)
  if demodulate:
    y = y * jnp.tile(demodulation_coefficients(weight, styles), (1, up * up))[:, None, None, :
                                                                               ].astype(y.dtype)
  y = y.reshape(n, phases[0], phases[1], up, up, o).transpose(0, 1, 3, 2, 4, 5)
  y = y.reshape(n, up * phases[0], up * phases[1], o)[:, :sizes[0], :sizes[1], :]
  return fir.upfirdn2d(y, taps, gain=up * up).astype(dtype)


def _up_polyphase(x, weight, styles):
  return upsampling_modulated_conv2d(x, weight, styles, True)


def _up_tconv_first(x, weight, styles):
  """The official order: stride-2 transposed conv (lhs dilation), then the FIR filter."""
  dcoefs = demodulation_coefficients(weight, styles)
  y = jax.lax.conv_general_dilated(x * styles[:, None, None, :], weight, (1, 1),
                                   ((2, 2), (2, 2)), lhs_dilation=(2, 2),
                                   dimension_numbers=("NHWC", "HWIO", "NHWC"))
  y = fir.upfirdn2d(y, fir.RESAMPLE_STYLEGAN2, pad=(1, 1), gain=4.0)
  return y * dcoefs[:, None, None, :]


def measure_up(n, c, size, repeats):
  """The 2x-upsampling layer both ways (the same function, checked), CPU ms per call."""
  kx, kw, ks = jax.random.split(jax.random.PRNGKey(0), 3)
  args = (jax.random.normal(kx, (n, size, size, c)), jax.random.normal(kw, (3, 3, c, c)),
          jax.random.normal(ks, (n, c)) + 1.0)
  out = {"up": True, "batch": n, "channels": c, "size": size,
         "max_abs_diff": float(jnp.max(jnp.abs(_up_fir_first(*args) - _up_tconv_first(*args)))),
         "polyphase_max_abs_diff": float(jnp.max(jnp.abs(_up_polyphase(*args)
                                                          - _up_tconv_first(*args))))}
  for name, f in (("fir_first", _up_fir_first), ("tconv_first", _up_tconv_first),
                  ("polyphase", _up_polyphase)):
    loss = lambda x, w, s, f=f: jnp.sum(jnp.square(f(x, w, s)))
    out[f"{name}_fwd_cpu_ms"] = round(1e3 * _time(jax.jit(f), args, repeats)[1], 3)
    out[f"{name}_fwd_bwd_cpu_ms"] = round(
        1e3 * _time(jax.jit(jax.grad(loss, argnums=(0, 1, 2))), args, repeats)[1], 3)
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--sizes", default="4x32x32,8x64x16,4x128x32,8x256x8,4x512x8")
  parser.add_argument("--only-up", action="store_true", help="time the upsampling layer only")
  parser.add_argument("--up", action="store_true",
                      help="also time the upsampling layer: FIR first (jaxgan) vs the official "
                      "transposed conv first")
  args = parser.parse_args()
  print(json.dumps({"backend": jax.default_backend(), "devices": str(jax.devices()),
                    "uptime_before": subprocess.run(["uptime"], capture_output=True,
                                                    text=True).stdout.strip()}), flush=True)
  for spec in [] if args.only_up else args.sizes.split(","):
    n, c, size = (int(v) for v in spec.split("x"))
    print(json.dumps(measure(n, c, size, args.repeats)), flush=True)
  if args.up or args.only_up:
    for spec in args.sizes.split(","):
      n, c, size = (int(v) for v in spec.split("x"))
      print(json.dumps(measure_up(n, c, size // 2, args.repeats)), flush=True)
  print(json.dumps({"uptime_after": subprocess.run(["uptime"], capture_output=True,
                                                   text=True).stdout.strip()}), flush=True)


if __name__ == "__main__":
  main()
