"""Small-map convolutions on the CPU: XLA's convolution vs the matrix-product (im2col) form.

The 4x4 and 8x8 maps of DCGAN's D and of BigGAN/SAGAN's first G blocks and last D blocks, as
`jax.lax.conv_general_dilated` and as `jaxgan.nn.padded_conv.conv2d`'s patches @ kernel (what
the translation models use for outputs up to 8x8 on the CPU). Forward and forward + backward
(gradients with respect to the input and the kernel), jitted; CPU milliseconds per call (all
threads of the process), median of --repeats after a warm-up. Both forms are checked equal.

  taskset -c 0 .venv/bin/python benchmarks/small_conv.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from jaxgan.nn import backend  # pylint: disable=wrong-import-position
from jaxgan.nn.padded_conv import conv2d  # pylint: disable=wrong-import-position

# (what, batch, input size, cin, cout, kernel, stride, padding)
SHAPES = [
    ("dcgan_digits D 8x8 -> 4x4", 64, 8, 64, 128, 4, 2, ((1, 1), (1, 1))),
    ("dcgan_celeba64 D 8x8 -> 4x4", 128, 8, 512, 1024, 4, 2, ((1, 1), (1, 1))),
    ("biggan_digits G/D 3x3 at 8x8", 64, 8, 32, 32, 3, 1, "SAME"),
    ("sagan_digits D 3x3 at 4x4", 64, 4, 32, 32, 3, 1, "SAME"),
    ("biggan128 G block0 3x3 at 8x8 (batch 8)", 8, 8, 1536, 1536, 3, 1, "SAME"),
    ("biggan128 D last block 3x3 at 4x4 (batch 8)", 8, 4, 1536, 1536, 3, 1, "SAME"),
]


def cpu_ms(fn, *args, repeats):
  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(repeats):
    c = time.process_time()
    jax.block_until_ready(fn(*args))
    times.append((time.process_time() - c) * 1e3)
  return round(statistics.median(times), 2)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args(argv)
  backend.set_conv_impl("cpu_workarounds")  # conv2d takes its im2col path on small outputs
  for what, b, size, cin, cout, k, stride, padding in SHAPES:
    key = jax.random.PRNGKey(0)
    x = jax.random.normal(key, (b, size, size, cin))
    w = jax.random.normal(jax.random.fold_in(key, 1), (k, k, cin, cout)) * 0.05
    pad = padding if padding != "SAME" else (((k - 1) // 2, k // 2),) * 2
    lax_conv = lambda x, w: jax.lax.conv_general_dilated(
        x, w, (stride, stride), pad, dimension_numbers=("NHWC", "HWIO", "NHWC"))
    matmul = lambda x, w: conv2d(x, w, stride, pad)
    row = {"what": what, "x": [b, size, size, cin], "kernel": [k, k, cin, cout],
           "stride": stride}
    outs = []
    for name, fn in (("conv", lax_conv), ("matmul", matmul)):
      fwd = jax.jit(fn)
      grad = jax.jit(jax.grad(lambda x, w, fn=fn: jnp.sum(fn(x, w) ** 2), argnums=(0, 1)))
      outs.append(np.asarray(fwd(x, w)))
      row[f"{name}_fwd_ms"] = cpu_ms(fwd, x, w, repeats=args.repeats)
      row[f"{name}_fwd_bwd_ms"] = cpu_ms(grad, x, w, repeats=args.repeats)
    row["max_abs_diff"] = float(np.max(np.abs(outs[0] - outs[1])))
    row["load_avg_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
  main()
