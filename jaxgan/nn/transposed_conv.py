"""A 4x4, stride-2 fractionally-strided convolution computed as one ordinary convolution.

The same function and parameters as flax's `nn.ConvTranspose(features, (4, 4), strides=(2, 2),
padding='SAME')` (tested equal), but XLA's CPU backend computes the kernel gradient of a
transposed convolution (a convolution with input dilation) an order of magnitude slower than an
ordinary one. Each output pixel (2p+a, 2q+b) reads a 2x2 neighbourhood of the input with taps
chosen by its phase (a, b), so a 3x3 convolution producing 4 * features channels (one block per
phase, unused taps zero) followed by depth-to-space gives the same result.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

# For output phase a and 3-tap window offset o (input rows p-1, p, p+1), the 4-tap kernel row
# that applies, or -1 where none does; derived from lax.conv_transpose's SAME padding (2, 2).
_PHASE_TAPS = np.array([[0, 2, -1], [-1, 1, 3]])


def _phase_kernel(kernel):
  """(4, 4, Cin, Cout) -> (3, 3, Cin, 4 * Cout), blocks ordered (a, b)."""
  cin, cout = kernel.shape[2:]
  blocks = []
  for a in range(2):
    for b in range(2):
      rows = _PHASE_TAPS[a]
      cols = _PHASE_TAPS[b]
      taps = kernel[np.maximum(rows, 0)][:, np.maximum(cols, 0)]  # (3, 3, Cin, Cout)
      mask = ((rows >= 0)[:, None] & (cols >= 0)[None, :]).astype(kernel.dtype)
      blocks.append(taps * mask[:, :, None, None])
  return jnp.stack(blocks, axis=3).reshape(3, 3, cin, 4 * cout)


class FractionallyStridedConv(nn.Module):
  features: int
  use_bias: bool = True
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    cin = x.shape[-1]
    kernel = self.param("kernel", self.kernel_init, (4, 4, cin, self.features), jnp.float32)
    n, h, w, _ = x.shape
    y = jax.lax.conv_general_dilated(
        x.astype(self.dtype), _phase_kernel(kernel).astype(self.dtype), window_strides=(1, 1),
        padding=((1, 1), (1, 1)), dimension_numbers=("NHWC", "HWIO", "NHWC"))
    y = y.reshape(n, h, w, 2, 2, self.features).transpose(0, 1, 3, 2, 4, 5)
    y = y.reshape(n, 2 * h, 2 * w, self.features)
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32).astype(
          self.dtype)
    return y
