"""ProGAN / StyleGAN / StyleGAN2 layers: pixel norm, minibatch stddev, noise, AdaIN, modulated conv.

All feature maps are NHWC. Statistics (norms, standard deviations, demodulation coefficients) are
computed in float32 whatever the compute dtype, then cast back.
"""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.nn.equalized import EqualizedDense
from jaxgan.nn.fir import RESAMPLE_STYLEGAN2, upfirdn2d

EPS = 1e-8  # the official code's epsilon in pixel norm, instance norm, mbstd and demodulation


def pixel_norm(x, axis: int = -1, eps: float = EPS):
  """ProGAN's pixelwise feature vector normalisation: x / sqrt(mean_c(x^2) + eps)."""
  x32 = x.astype(jnp.float32)
  y = x32 * jax.lax.rsqrt(jnp.mean(jnp.square(x32), axis=axis, keepdims=True) + eps)
  return y.astype(x.dtype)


def instance_norm(x, eps: float = EPS):
  """StyleGAN's instance norm (no affine): per sample and channel over H and W."""
  x32 = x.astype(jnp.float32)
  x32 = x32 - jnp.mean(x32, axis=(1, 2), keepdims=True)
  y = x32 * jax.lax.rsqrt(jnp.mean(jnp.square(x32), axis=(1, 2), keepdims=True) + eps)
  return y.astype(x.dtype)


def minibatch_stddev(x, group_size: int | None = 4, num_channels: int = 1, eps: float = EPS):
  """Appends `num_channels` feature maps of the minibatch standard deviation (ProGAN section 3).

  As the official code (ProGAN's minibatch_stddev_layer, stylegan2-ada-pytorch's
  MinibatchStdLayer): G = min(group_size, N) (None: the whole batch) and N must be divisible by
  G; sample n falls in group n mod (N / G); per group, the standard deviation over the group of
  every feature (biased, + eps inside the square root), averaged over H, W and the channels of
  each of the `num_channels` channel slices, is broadcast over H x W and appended.
  """
  n, h, w, c = x.shape
  g = n if group_size is None else min(group_size, n)
  if n % g:
    raise ValueError(f"minibatch stddev: batch {n} is not divisible by the group size {g}")
  if c % num_channels:
    raise ValueError(f"minibatch stddev: {c} channels do not split into {num_channels}")
  y = x.astype(jnp.float32).reshape(g, n // g, h, w, num_channels, c // num_channels)
  y = y - jnp.mean(y, axis=0)
  y = jnp.sqrt(jnp.mean(jnp.square(y), axis=0) + eps)  # [M, H, W, F, c]
  y = jnp.mean(y, axis=(1, 2, 4))  # [M, F]
  y = jnp.tile(y, (g, 1))  # row n = group n mod M
  y = jnp.broadcast_to(y[:, None, None, :], (n, h, w, num_channels))
  return jnp.concatenate([x, y.astype(x.dtype)], axis=-1)


NOISE_MODES = ("random", "const", "none")


class NoiseInjection(nn.Module):
  """x + strength * noise, one noise value per pixel shared by all channels.

  per_channel: a learned strength per channel (StyleGAN, `noise_strength` of shape [C]) or one
  scalar (StyleGAN2's SynthesisLayer); zero-initialised in both.
  mode (a call argument): 'random' draws N(0, 1) noise per sample from the 'noise' rng stream;
  'const' uses this layer's fixed buffer ([H, W, 1], drawn once at init, kept in the
  'noise_const' collection, never trained); 'none' adds nothing. The buffer is created at init
  whatever the mode, so the variable layout never depends on it. Where init is called without a
  'noise' rng the random noise at init is zero (its value does not matter there).
  """

  per_channel: bool = True

  @nn.compact
  def __call__(self, x, mode: str = "random"):
    if mode not in NOISE_MODES:
      raise ValueError(f"noise mode must be one of {NOISE_MODES}, got {mode!r}")
    n, h, w, c = x.shape
    strength = self.param("strength", nn.initializers.zeros, (c,) if self.per_channel else (),
                          jnp.float32)
    const = self.variable("noise_const", "noise",
                          lambda: jax.random.normal(self.make_rng("params"), (h, w, 1)))
    if mode == "none":
      return x
    if mode == "const":
      noise = const.value[None]
    elif self.is_initializing() and not self.has_rng("noise"):
      noise = jnp.zeros((n, h, w, 1), jnp.float32)
    else:
      noise = jax.random.normal(self.make_rng("noise"), (n, h, w, 1), jnp.float32)
    return x + (noise * strength).astype(x.dtype)


class AdaIN(nn.Module):
  """StyleGAN's AdaIN: instance_norm(x) * scale(w) + bias(w), both from equalised dense layers.

  The official style_mod is one dense layer of 2C outputs (bias 0) and adds 1 to the scale at run
  time; here two dense layers ('scale' with bias initialised to 1, 'bias' with bias 0): the same
  function and parameter count, with the +1 held in the scale's bias as StyleGAN2's affines do.
  """

  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, w):
    c = x.shape[-1]
    scale = EqualizedDense(c, gain=1.0, bias_init=1.0, dtype=jnp.float32, name="scale")(w)
    bias = EqualizedDense(c, gain=1.0, bias_init=0.0, dtype=jnp.float32, name="bias")(w)
    y = instance_norm(x).astype(jnp.float32) * scale[:, None, None, :] + bias[:, None, None, :]
    return y.astype(x.dtype)


# ---------------------------------------------------------------------------------------------
# StyleGAN2's modulated convolution.

MODCONV_IMPLS = ("auto", "grouped", "fused")

# impl='auto' by backend. CPU: measured with benchmarks/modconv.py on this project's 2-core AMD EPYC
# (one thread, 2026-12-01, CPU ms per call, table in benchmarks/README.md): the fused form was
# faster at every size, 2.6-17x forward and 10-40x forward+backward (e.g. batch 4, 128 channels,
# 32x32: fused 8.4 / 35 ms, grouped 27 / 342 ms). GPU/TPU: not measured (no accelerator lent);
# 'fused', the form stylegan2-ada-pytorch trains with (its fused_modconv=False).
AUTO_MODCONV = {"cpu": "fused", "gpu": "fused", "tpu": "fused"}


def resolve_modconv_impl(impl: str) -> str:
  if impl not in MODCONV_IMPLS:
    raise ValueError(f"modulated conv impl must be one of {MODCONV_IMPLS}, got {impl!r}")
  if impl == "auto":
    return AUTO_MODCONV.get(jax.default_backend(), "fused")
  return impl


def demodulation_coefficients(weight, styles):
  """1 / sqrt(sum over k, k, I of (weight * s_n)^2 + 1e-8) per sample and output channel, [N, O]:
  sum_I s_I^2 * sum_{k,k} weight^2, without forming the modulated kernels."""
  weight, styles = weight.astype(jnp.float32), styles.astype(jnp.float32)
  return jax.lax.rsqrt(jnp.square(styles) @ jnp.sum(jnp.square(weight), axis=(0, 1)) + EPS)


def modulated_conv2d(x, weight, styles, demodulate: bool = True, padding="SAME",
                     impl: str = "grouped", dtype=None):
  """StyleGAN2's modulated convolution, stride 1: x [N,H,W,I], weight [k,k,I,O], styles [N,I].

  w'_n = weight * styles_n (per input channel); with demodulation each output channel's
  modulated weight is divided by sqrt(sum_{k,k,I} w'^2 + 1e-8) (eq. 3 of Karras et al. 2019).

  impl 'grouped': the per-sample weights w'_n folded into one convolution with
  feature_group_count = N (the batch moved into the channels). impl 'fused': modulate the input
  activations, one convolution with the shared weight, demodulate the output channels -- the same
  function (convolution is linear in x and per-channel scalings commute with it). Beware that
  stylegan2-ada-pytorch names these the other way round: its `fused_modconv=True` is the grouped
  form. Returns float in `dtype` (default x's).
  """
  dtype = dtype or x.dtype
  n, h, w, i = x.shape
  k0, k1, _, o = weight.shape
  styles = styles.astype(jnp.float32)
  weight = weight.astype(jnp.float32)
  dn = ("NHWC", "HWIO", "NHWC")
  dcoefs = demodulation_coefficients(weight, styles) if demodulate else None
  impl = resolve_modconv_impl(impl)
  if impl == "fused":
    xs = x.astype(jnp.float32) * styles[:, None, None, :]
    y = jax.lax.conv_general_dilated(xs.astype(dtype), weight.astype(dtype), (1, 1), padding,
                                     dimension_numbers=dn)
    if demodulate:
      y = y * dcoefs[:, None, None, :].astype(dtype)
    return y.astype(dtype)
  wn = weight[None] * styles[:, None, None, :, None]  # [N, k, k, I, O]
  if demodulate:
    wn = wn * dcoefs[:, None, None, None, :]
  kernel = wn.transpose(1, 2, 3, 0, 4).reshape(k0, k1, i, n * o)
  xg = x.transpose(1, 2, 0, 3).reshape(1, h, w, n * i)
  y = jax.lax.conv_general_dilated(xg.astype(dtype), kernel.astype(dtype), (1, 1), padding,
                                   dimension_numbers=dn, feature_group_count=n)
  ho, wo = y.shape[1], y.shape[2]
  return y.reshape(ho, wo, n, o).transpose(2, 0, 1, 3).astype(dtype)


class ModulatedConv(nn.Module):
  """StyleGAN2's SynthesisLayer convolution (no bias, noise or activation): affine + modconv.

  The style is an equalised dense layer of w (bias initialised to 1); the kernel is stored
  N(0, 1) without a fan-in scale, which demodulation makes irrelevant (stylegan2-ada-pytorch's
  SynthesisLayer). Without demodulation (toRGB) the style is multiplied by 1/sqrt(fan_in)
  (ToRGBLayer's weight_gain).

  up=2: FIR upsampling ([1, 3, 3, 1], gain 4) then the convolution without padding over one
  extra border pixel (computed as the interior of a 'SAME' one, faster on XLA CPU): the same
  output as the official transposed convolution followed by the FIR filter (both are the
  central 2H x 2W of the full linear convolution of the zero-inserted input with filter and
  kernel), computed at the output resolution instead of the input one. That costs ~4x the
  multiply-adds forward but avoids XLA CPU's slow transposed-conv kernel gradient (see
  benchmarks/README.md for where each order is faster).
  """

  features: int
  kernel_size: int = 3
  demodulate: bool = True
  up: int = 1
  resample_filter: Sequence[int] = RESAMPLE_STYLEGAN2
  impl: str = "auto"
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, w):
    k, c = self.kernel_size, x.shape[-1]
    styles = EqualizedDense(c, gain=1.0, bias_init=1.0, dtype=jnp.float32, name="affine")(w)
    if not self.demodulate:
      styles = styles / math.sqrt(c * k * k)
    weight = self.param("kernel", nn.initializers.normal(1.0), (k, k, c, self.features),
                        jnp.float32)
    x = x.astype(self.dtype)
    if self.up == 1:
      return modulated_conv2d(x, weight, styles, self.demodulate, "SAME", self.impl, self.dtype)
    fw, p = len(self.resample_filter), k // 2
    x = upfirdn2d(x, self.resample_filter, up=self.up,
                  pad=((fw + self.up - 1) // 2 + p, (fw - self.up) // 2 + p),
                  gain=self.up * self.up)
    # The 'VALID' convolution of x, as the interior of the 'SAME' one: XLA CPU ran 3x3 convs
    # without padding 3x slower than padded ones (4 x 34x34 x 512: 456-485 vs 147-153 CPU ms).
    y = modulated_conv2d(x, weight, styles, self.demodulate, "SAME", self.impl, self.dtype)
    return y[:, p:y.shape[1] - p, p:y.shape[2] - p, :]
