"""Convolutions with the padding image-to-image networks use.

- `ReflectConv`: a stride-1 convolution over a reflection-padded input (CycleGAN's ResNet
  generator: its 7x7 stem and head and every residual block), so borders see mirrored content
  instead of zeros and produce fewer edge artefacts.
- `TransposedConv2x`: any k x k, stride-2 transposed convolution that doubles the size, computed
  as one ordinary convolution followed by depth-to-space (the phase decomposition that
  `transposed_conv.FractionallyStridedConv` uses for 4x4, generalised to any kernel and
  padding). Same function and parameters as flax's `nn.ConvTranspose(features, (k, k),
  strides=(2, 2), padding=((lo, hi), (lo, hi)))` with lo + hi = k (tested equal); XLA's CPU
  backend computes the input-dilated convolution's kernel gradient an order of magnitude slower.
  CycleGAN's 3x3 up-sampling (PyTorch ConvTranspose2d(k=3, s=2, p=1, output_padding=1)) is
  k=3, lo=1, hi=2 up to a flip of the (learned) kernel.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


def reflect_pad(x, pad: int):
  """NHWC x padded by `pad` mirrored pixels on each side of H and W (edge not repeated)."""
  if pad == 0:
    return x
  if pad >= min(x.shape[1], x.shape[2]):
    raise ValueError(f"reflection padding {pad} needs a feature map larger than {pad}, got "
                     f"{x.shape[1]}x{x.shape[2]}")
  return jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")


class ReflectConv(nn.Module):
  """k x k convolution, stride 1, on the input reflection-padded by (k - 1) // 2: same size."""

  features: int
  kernel_size: int = 3
  use_bias: bool = True
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    k = self.kernel_size
    if k % 2 != 1:
      raise ValueError(f"ReflectConv needs an odd kernel size, got {k}")
    x = reflect_pad(x, (k - 1) // 2)
    return nn.Conv(self.features, (k, k), padding="VALID", use_bias=self.use_bias,
                   kernel_init=self.kernel_init, dtype=self.dtype, name="conv")(x)


def _phase_taps(kernel_size: int, lo: int):
  """For each output phase a in {0, 1}: {input offset d: kernel tap} of a stride-2 transposed
  conv (lax.conv_transpose, padding (lo, hi)), and the offsets' range.

  Output pixel 2p + a reads the dilated, padded input at 2p + a + t - lo for tap t; that is
  input pixel p + d with d = (a + t - lo) / 2 when a + t - lo is even, and a hole otherwise.
  """
  taps = [{}, {}]
  for a in range(2):
    for t in range(kernel_size):
      if (a + t - lo) % 2 == 0:
        taps[a][(a + t - lo) // 2] = t
  offsets = [d for phase in taps for d in phase]
  return taps, min(offsets), max(offsets)


def _phase_kernel(kernel, lo: int):
  """(k, k, Cin, Cout) -> ((W, W, Cin, 4 * Cout), (dmin, dmax)), blocks ordered (a, b)."""
  k, _, cin, cout = kernel.shape
  taps, dmin, dmax = _phase_taps(k, lo)
  width = dmax - dmin + 1
  blocks = []
  for a in range(2):
    for b in range(2):
      rows = np.array([taps[a].get(d, -1) for d in range(dmin, dmax + 1)])
      cols = np.array([taps[b].get(d, -1) for d in range(dmin, dmax + 1)])
      block = kernel[np.maximum(rows, 0)][:, np.maximum(cols, 0)]  # (W, W, Cin, Cout)
      mask = ((rows >= 0)[:, None] & (cols >= 0)[None, :]).astype(kernel.dtype)
      blocks.append(block * mask[:, :, None, None])
  return jnp.stack(blocks, axis=3).reshape(width, width, cin, 4 * cout), (dmin, dmax)


class TransposedConv2x(nn.Module):
  """Stride-2 k x k transposed convolution, output 2H x 2W (flax ConvTranspose semantics)."""

  features: int
  kernel_size: int = 3
  padding: tuple[int, int] = (1, 2)  # (lo, hi) of lax.conv_transpose; lo + hi == kernel_size
  use_bias: bool = True
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    k = self.kernel_size
    lo, hi = self.padding
    if lo + hi != k:
      raise ValueError(f"padding {self.padding} does not double the size of a {k}x{k} kernel "
                       f"(need lo + hi == {k})")
    cin = x.shape[-1]
    kernel = self.param("kernel", self.kernel_init, (k, k, cin, self.features), jnp.float32)
    phase_kernel, (dmin, dmax) = _phase_kernel(kernel, lo)
    n, h, w, _ = x.shape
    y = jax.lax.conv_general_dilated(
        x.astype(self.dtype), phase_kernel.astype(self.dtype), window_strides=(1, 1),
        padding=((-dmin, dmax), (-dmin, dmax)), dimension_numbers=("NHWC", "HWIO", "NHWC"))
    y = y.reshape(n, h, w, 2, 2, self.features).transpose(0, 1, 3, 2, 4, 5)
    y = y.reshape(n, 2 * h, 2 * w, self.features)
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32).astype(
          self.dtype)
    return y
