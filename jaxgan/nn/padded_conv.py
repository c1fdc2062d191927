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
- `Conv` / `conv2d`: nn.Conv's function and parameters, computed as patches @ kernel (im2col)
  when the output map is small (at most IM2COL_MAX_AREA pixels). XLA's CPU convolution is
  pathologically slow on small maps with many channels (a 3x3 conv of a 16x2x2x512 batch to
  1024 channels: 2.9 s as a convolution, 18 ms as a matrix product), which U-Nets, PatchGANs and
  bottlenecks are full of; large maps keep the convolution, faster there.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.nn import backend


IM2COL_MAX_AREA = 64  # output pixels (8x8) up to which a convolution runs as a matmul


def _explicit_padding(padding, size: tuple[int, int], kernel: int, stride: int):
  """'SAME' / 'VALID' / int / ((lo, hi), (lo, hi)) -> ((lo, hi), (lo, hi)), lax's semantics."""
  if padding == "VALID":
    return ((0, 0), (0, 0))
  if padding == "SAME":
    pads = []
    for n in size:
      out = -(-n // stride)
      total = max((out - 1) * stride + kernel - n, 0)
      pads.append((total // 2, total - total // 2))
    return tuple(pads)
  if isinstance(padding, int):
    return ((padding, padding), (padding, padding))
  return tuple(tuple(p) for p in padding)


def conv2d(x, kernel, stride: int = 1, padding="SAME"):
  """NHWC x (*) HWIO kernel, square stride; im2col for small outputs (see IM2COL_MAX_AREA)."""
  kh, kw, cin, cout = kernel.shape
  (top, bottom), (left, right) = _explicit_padding(padding, x.shape[1:3], kh, stride)
  out_h = (x.shape[1] + top + bottom - kh) // stride + 1
  out_w = (x.shape[2] + left + right - kw) // stride + 1
  if (out_h * out_w > IM2COL_MAX_AREA or kh * kw == 1
      or not backend.use_cpu_workarounds()):
    return jax.lax.conv_general_dilated(
        x, kernel, (stride, stride), ((top, bottom), (left, right)),
        dimension_numbers=("NHWC", "HWIO", "NHWC"))
  xp = jnp.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
  padded_w = xp.shape[2]
  rows = (np.arange(out_h) * stride)[:, None, None, None] + np.arange(kh)[None, None, :, None]
  cols = (np.arange(out_w) * stride)[None, :, None, None] + np.arange(kw)[None, None, None, :]
  index = (rows * padded_w + cols).reshape(-1)  # (out_h, out_w, kh, kw) flattened
  patches = jnp.take(xp.reshape(xp.shape[0], -1, cin), index, axis=1)  # one gather
  patches = patches.reshape(x.shape[0], out_h, out_w, kh * kw * cin)
  return jnp.dot(patches, kernel.reshape(kh * kw * cin, cout))


class Conv(nn.Module):
  """nn.Conv(features, (k, k), strides=(s, s), padding) with the same parameters, via conv2d."""

  features: int
  kernel_size: int = 3
  strides: int = 1
  padding: object = "SAME"
  use_bias: bool = True
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    k = self.kernel_size
    kernel = self.param("kernel", self.kernel_init, (k, k, x.shape[-1], self.features),
                        jnp.float32)
    y = conv2d(x.astype(self.dtype), kernel.astype(self.dtype), self.strides, self.padding)
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32).astype(
          self.dtype)
    return y


# Nearest-neighbour x2 upsampling then a 3x3 convolution (padding 1) is, per output phase
# (a, b) in {0, 1}^2, a 2x2 convolution of the low-resolution input: along one axis, output
# 2i reads x[i-1] with tap 0 and x[i] with taps 1 + 2, output 2i+1 reads x[i] with taps 0 + 1
# and x[i+1] with tap 2. _UP_TAPS[a, u, s]: whether kernel tap s joins window tap u of phase a.
_UP_TAPS = np.array([[[1, 0, 0], [0, 1, 1]], [[1, 1, 0], [0, 0, 1]]], np.float32)


def upsample_conv3x3(x, kernel):
  """conv2d(nearest_upsample_2x(x), kernel (3, 3, Cin, Cout), padding 1), NHWC.

  On the CPU computed as one 2x2 convolution of x (padded by 1) to the four phases' outputs
  (4 Cout channels) and an interleave: 16 (H+1)^2 instead of 36 H^2 multiply-adds per channel
  pair, and XLA's CPU backend gets the small-map case it is fast at (StackGAN's Stage-I G
  4 -> 8: 262 -> 123 ms of CPU for a batch of 64 forward and backward). Elsewhere the plain
  upsample and convolution (same function: tests/test_engine.py).
  """
  b, h, w, cin = x.shape
  cout = kernel.shape[-1]
  if not backend.use_cpu_workarounds():
    up = jnp.broadcast_to(x[:, :, None, :, None, :], (b, h, 2, w, 2, cin))
    return conv2d(up.reshape(b, 2 * h, 2 * w, cin), kernel, 1, ((1, 1), (1, 1)))
  taps = jnp.asarray(_UP_TAPS, kernel.dtype)
  phases = jnp.einsum("aus,bvt,stio->uviabo", taps, taps, kernel).reshape(2, 2, cin, 4 * cout)
  out = conv2d(jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))), phases, 1, "VALID")
  out = out.reshape(b, h + 1, w + 1, 2, 2, cout)
  # Phase (a, b)'s output for input pixel (i, j) sits at window position (i + a, j + b).
  rows = [jnp.stack([out[:, a:a + h, c:c + w, a, c] for c in range(2)], axis=3)
          for a in range(2)]
  return jnp.stack(rows, axis=2).reshape(b, 2 * h, 2 * w, cout)


class UpsampleConv(nn.Module):
  """Nearest x2 upsampling then a 3x3 convolution (padding 1, no bias): the parameters of
  Conv(features, 3, padding=1, use_bias=False), computed by upsample_conv3x3."""

  features: int
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    kernel = self.param("kernel", self.kernel_init, (3, 3, x.shape[-1], self.features),
                        jnp.float32)
    return upsample_conv3x3(x.astype(self.dtype), kernel.astype(self.dtype))


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
    return Conv(self.features, k, padding="VALID", use_bias=self.use_bias,
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
  """(k, k, Cin, Cout) -> ((W, W, Cin, 4 * Cout), (dmin, dmax)), blocks ordered (a, b).

  Built from static slices of the kernel (no gathers), so its gradient is a cheap sum of pads
  rather than a scatter.
  """
  k, _, cin, cout = kernel.shape
  taps, dmin, dmax = _phase_taps(k, lo)
  width = dmax - dmin + 1
  zeros = jnp.zeros((cin, cout), kernel.dtype)
  blocks = []
  for a in range(2):
    for b in range(2):
      rows = [taps[a].get(d) for d in range(dmin, dmax + 1)]
      cols = [taps[b].get(d) for d in range(dmin, dmax + 1)]
      blocks.append(jnp.stack([
          jnp.stack([zeros if r is None or c is None else kernel[r, c] for c in cols])
          for r in rows]))
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
    if backend.use_cpu_workarounds():
      phase_kernel, (dmin, dmax) = _phase_kernel(kernel, lo)
      n, h, w, _ = x.shape
      y = conv2d(x.astype(self.dtype), phase_kernel.astype(self.dtype), 1,
                 ((-dmin, dmax), (-dmin, dmax)))
      y = y.reshape(n, h, w, 2, 2, self.features).transpose(0, 1, 3, 2, 4, 5)
      y = y.reshape(n, 2 * h, 2 * w, self.features)
    else:
      y = jax.lax.conv_transpose(x.astype(self.dtype), kernel.astype(self.dtype), (2, 2),
                                 ((lo, hi), (lo, hi)), dimension_numbers=("NHWC", "HWIO", "NHWC"))
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32).astype(
          self.dtype)
    return y
