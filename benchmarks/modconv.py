"""StyleGAN2's modulated convolution: the grouped form against the fused form on this backend.

Times jit-compiled forward and forward+backward (gradient w.r.t. input, weight and styles) of
jaxgan.nn.style.modulated_conv2d (3x3, demodulated, 'SAME') at a few (batch, channels, size):
median wall-clock and CPU time (process_time) of several calls after a warm-up; prints one JSON
object per size and the load average (`uptime`) before and after, since the CPU is shared.
Sizes are BxCxS: batch, input = output channels, height = width.

  PYTHONPATH=. python benchmarks/modconv.py [--repeats 5] [--sizes 4x64x16,8x128x32] [--up]

--up also times the 2x-upsampling layer in jaxgan's order (FIR upsampling, then the conv) and in
the official one (transposed conv, then the FIR filter), at half the given size (so the output is
the given size).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.nn import fir
from jaxgan.nn.style import EPS, modulated_conv2d


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


def _up_tconv_first(x, weight, styles):
  """The official order: stride-2 transposed conv (lhs dilation), then the FIR filter."""
  dcoefs = jax.lax.rsqrt(jnp.square(styles) @ jnp.sum(jnp.square(weight), axis=(0, 1)) + EPS)
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
         "max_abs_diff": float(jnp.max(jnp.abs(_up_fir_first(*args) - _up_tconv_first(*args))))}
  for name, f in (("fir_first", _up_fir_first), ("tconv_first", _up_tconv_first)):
    loss = lambda x, w, s, f=f: jnp.sum(jnp.square(f(x, w, s)))
    out[f"{name}_fwd_cpu_ms"] = round(1e3 * _time(jax.jit(f), args, repeats)[1], 3)
    out[f"{name}_fwd_bwd_cpu_ms"] = round(
        1e3 * _time(jax.jit(jax.grad(loss, argnums=(0, 1, 2))), args, repeats)[1], 3)
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--sizes", default="4x32x32,8x64x16,4x128x32,8x256x8,4x512x8")
  parser.add_argument("--up", action="store_true",
                      help="also time the upsampling layer: FIR first (jaxgan) vs the official "
                      "transposed conv first")
  args = parser.parse_args()
  print(json.dumps({"backend": jax.default_backend(), "devices": str(jax.devices()),
                    "uptime_before": subprocess.run(["uptime"], capture_output=True,
                                                    text=True).stdout.strip()}), flush=True)
  for spec in args.sizes.split(","):
    n, c, size = (int(v) for v in spec.split("x"))
    print(json.dumps(measure(n, c, size, args.repeats)), flush=True)
  if args.up:
    for spec in args.sizes.split(","):
      n, c, size = (int(v) for v in spec.split("x"))
      print(json.dumps(measure_up(n, c, size // 2, args.repeats)), flush=True)
  print(json.dumps({"uptime_after": subprocess.run(["uptime"], capture_output=True,
                                                   text=True).stdout.strip()}), flush=True)


if __name__ == "__main__":
  main()
