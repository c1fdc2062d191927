"""StyleGAN2 (Karras et al. 2019), config F: weight demodulation, skip G, residual D.

The networks of NVlabs/stylegan2-ada-pytorch (training/networks.py: MappingNetwork,
SynthesisNetwork with architecture='skip', Discriminator with architecture='resnet'),
unconditional, float32:

Mapping: as StyleGAN (jaxgan.models.stylegan.MappingNetwork; the activation gain sqrt(2) after
the LeakyReLU as that code's bias_act), w_avg tracked with beta 0.995.
Synthesis: a learned constant 4x4 (N(0, 1)); per resolution a block of two SynthesisLayers
(the first of the 8x8-and-up blocks upsamples 2x with the [1, 3, 3, 1] FIR filter) and a toRGB.
SynthesisLayer: modulated 3x3 conv with demodulation (style = equalised dense of w, bias 1) ->
noise (one learned scalar strength, zero-initialised) -> bias -> LeakyReLU(0.2) * sqrt(2).
toRGB: modulated 1x1 conv without demodulation (style scaled by 1/sqrt(fan_in)) + bias, linear.
Skip architecture: img = upsample2d(img) + toRGB(x) at every resolution. The block at
resolution r reads ws[2k-5], ws[2k-4] (its convs) and ws[2k-3] (its toRGB), k = log2 r (the 4x4
block: ws[0] and ws[1]); num_ws = 2 log2(size) - 2.
Widths min(channel_base / r, channel_max); here min(fmap_base / 2^(k-1), fmap_max) with
fmap_base = channel_base / 2 = 16384 for config F (512 up to 64x64, 256, 128, 64, 32 at 1024).
D (resnet): fromRGB (1x1 conv + act) at the top resolution only; per resolution r ... 8:
conv3x3 (nf(k-1)) -> act, FIR [1, 3, 3, 1] then conv3x3 stride 2 (nf(k-2)) -> act, plus a skip
(FIR 2x downsampling then a bias-free 1x1 conv), both scaled by sqrt(0.5) and summed; at 4x4:
minibatch stddev (group 4, one map), conv3x3 -> act, dense (nf(1)) -> act, dense to 1.
Every conv/dense has equalised learning rate with gain 1 and act = LeakyReLU(0.2) * sqrt(2).
Mixing regularisation and truncation as jaxgan.models.stylegan (truncation cutoff default None:
every layer, as stylegan2-ada-pytorch).

Departures from the official code: no progressive growing (none in StyleGAN2); the upsampling
SynthesisLayer upsamples with the FIR filter before a 'VALID' 3x3 conv instead of a transposed
conv followed by the filter -- the same output (see jaxgan.nn.style.ModulatedConv); the official
fp16 paths (conv_clamp at 256, weight/style pre-normalisation before a grouped conv) are for
mixed precision in PyTorch and left out, bf16 compute here keeps statistics in float32; the
modulated conv runs grouped or fused (`modconv_impl`, 'auto' by backend); outputs are linear.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from jaxgan.models.progan import check_resolution, log2_size, lrelu, num_features, setting
from jaxgan.models.stylegan import StyleGeneratorBase
from jaxgan.nn.basic import compute_dtype
from jaxgan.nn.equalized import EqualizedConv, EqualizedDense
from jaxgan.nn.fir import RESAMPLE_STYLEGAN2, downsample2d, upfirdn2d, upsample2d
from jaxgan.nn.resblocks import rematerialized
from jaxgan.nn.style import ModulatedConv, NoiseInjection, minibatch_stddev

SQRT2 = math.sqrt(2.0)
SQRT_HALF = math.sqrt(0.5)


def act(x):
  return lrelu(x) * SQRT2


class SynthesisLayer(nn.Module):
  STATIC_ARGNUM = 3  # __call__(self, x, w, noise_mode): the mode is a string (config.remat)
  features: int
  up: int = 1
  impl: str = "auto"
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, w, noise_mode: str = "random"):
    x = ModulatedConv(self.features, 3, demodulate=True, up=self.up, impl=self.impl,
                      dtype=self.dtype, name="conv")(x, w)
    x = NoiseInjection(per_channel=False, name="noise")(x, noise_mode)
    bias = self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32)
    return act(x + bias.astype(x.dtype))


class ToRGB(nn.Module):
  channels: int
  impl: str = "auto"
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, w):
    x = ModulatedConv(self.channels, 1, demodulate=False, impl=self.impl, dtype=self.dtype,
                      name="conv")(x, w)
    bias = self.param("bias", nn.initializers.zeros, (self.channels,), jnp.float32)
    return x.astype(jnp.float32) + bias


class StyleGAN2Generator(StyleGeneratorBase):
  """G.apply(vars, z, labels=None, train=True, resolution=None, alpha=1.0, truncation_psi=1.0,
  truncation_cutoff='config', mixing_prob=None, noise_mode='random') -> [N, S, S, C] float32.

  `resolution` must be None or the final size and `alpha` is ignored (no growing); they are
  accepted so all three style models share one call signature.
  rng streams: 'noise' (per-layer noise when noise_mode='random'; mixing in training).
  Collections: 'params', 'w_avg', 'noise_const'. Methods: mapping, styles, synthesis (as
  jaxgan.models.stylegan.StyleGANGenerator).
  """

  truncation_cutoff: int | None = None
  fmap_base: int = 16384
  fmap_max: int = 512
  fmap_decay: float = 1.0
  modconv_impl: str = "auto"
  remat: bool = False  # jax.checkpoint per synthesis layer (config.remat)

  act_gain_after = True

  def setup_synthesis(self):
    top = log2_size(self.image_size, "StyleGAN2")
    nf = lambda s: num_features(s, self.fmap_base, self.fmap_max, self.fmap_decay)
    self.const = self.param("const", nn.initializers.normal(1.0), (4, 4, nf(1)), jnp.float32)
    kw = dict(impl=self.modconv_impl, dtype=self.dtype)
    layer = rematerialized(SynthesisLayer, self.remat)
    self.conv0 = {str(2**k): layer(nf(k - 1), up=2, **kw) for k in range(3, top + 1)}
    self.conv1 = {str(2**k): layer(nf(k - 1), **kw) for k in range(2, top + 1)}
    self.to_rgb = {str(2**k): ToRGB(self.channels, **kw) for k in range(2, top + 1)}

  def synthesis(self, ws, resolution: int | None = None, alpha=1.0, noise_mode: str = "random"):
    """ws [N, num_ws, w_dim] -> images [N, S, S, C] float32."""
    del alpha
    if check_resolution(resolution, self.image_size, "StyleGAN2 G") != self.image_size:
      raise ValueError("StyleGAN2 does not grow: resolution must be None or the image size")
    n = ws.shape[0]
    x = jnp.broadcast_to(self.const.astype(self.dtype), (n,) + self.const.shape)
    x = self.conv1["4"](x, ws[:, 0], noise_mode)
    img = self.to_rgb["4"](x, ws[:, 1])
    for k in range(3, log2_size(self.image_size) + 1):
      res = str(2**k)
      x = self.conv0[res](x, ws[:, 2 * k - 5], noise_mode)
      x = self.conv1[res](x, ws[:, 2 * k - 4], noise_mode)
      img = upsample2d(img, RESAMPLE_STYLEGAN2) + self.to_rgb[res](x, ws[:, 2 * k - 3])
    return img.astype(jnp.float32)


class StyleGAN2Discriminator(nn.Module):
  """D.apply(vars, x, labels=None, train=True) -> [N] float32 logits; deterministic, 'params' only.

  x: [N, S, S, C] at the final size. The batch must be divisible by min(mbstd_group_size, N).
  """

  image_size: int
  fmap_base: int = 16384
  fmap_max: int = 512
  fmap_decay: float = 1.0
  mbstd_group_size: int = 4
  mbstd_num_channels: int = 1
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, labels=None, train: bool = True, resolution: int | None = None,
               alpha=1.0):
    del labels, train, alpha
    top = log2_size(self.image_size, "StyleGAN2")
    if x.shape[1] != self.image_size or resolution not in (None, self.image_size):
      raise ValueError(f"StyleGAN2 D takes {self.image_size}x{self.image_size} images only")
    nf = lambda s: num_features(s, self.fmap_base, self.fmap_max, self.fmap_decay)
    dt = self.dtype
    h = act(EqualizedConv(nf(top - 1), (1, 1), gain=1.0, dtype=dt, name="from_rgb")(
        x.astype(dt)))
    for k in range(top, 2, -1):
      skip = EqualizedConv(nf(k - 2), (1, 1), gain=1.0, use_bias=False, dtype=dt,
                           name=f"b{2**k}_skip")(downsample2d(h, RESAMPLE_STYLEGAN2))
      y = act(EqualizedConv(nf(k - 1), (3, 3), gain=1.0, dtype=dt, name=f"b{2**k}_conv0")(h))
      y = upfirdn2d(y, RESAMPLE_STYLEGAN2, pad=(2, 2))  # [N, r+1, r+1, C]
      # Stride 2 without padding; the zero row/column after the end is never read (r/2 windows
      # either way) but puts XLA CPU on its faster padded path (4 x 33x33 x 512: 49 vs 85 ms).
      y = act(EqualizedConv(nf(k - 2), (3, 3), gain=1.0, padding=((0, 1), (0, 1)),
                            strides=(2, 2), dtype=dt, name=f"b{2**k}_conv1")(y))
      h = (skip + y) * SQRT_HALF
    h = minibatch_stddev(h, self.mbstd_group_size, self.mbstd_num_channels)
    h = act(EqualizedConv(nf(1), (3, 3), gain=1.0, dtype=dt, name="b4_conv")(h))
    h = act(EqualizedDense(nf(1), gain=1.0, dtype=dt, name="b4_fc")(h.reshape(h.shape[0], -1)))
    return EqualizedDense(1, gain=1.0, dtype=dt, name="b4_out")(h)[:, 0].astype(jnp.float32)


def build(config, info):
  """As jaxgan.models.stylegan.build, plus generator.modconv_impl ('auto', 'grouped', 'fused');
  fmap_base defaults to 16384 (config F's channel_base 32768) and truncation_cutoff to None."""
  if config.get("conditional", False):
    raise ValueError("stylegan2: the networks here are unconditional (set conditional=False)")
  g, d = config.generator, config.discriminator
  dtype = compute_dtype(config.compute_dtype)
  size, _, channels = info.shape
  generator = StyleGAN2Generator(
      image_size=size, channels=channels, w_dim=setting(g, "w_dim", 512),
      mapping_layers=setting(g, "mapping_layers", 8),
      mapping_features=setting(g, "mapping_features", 512),
      mapping_lr_mul=setting(g, "mapping_lr_mul", 0.01), w_avg_beta=setting(g, "w_avg_beta", 0.995),
      mixing_prob=setting(g, "mixing_prob", 0.9),
      truncation_cutoff=setting(g, "truncation_cutoff", None),
      fmap_base=setting(g, "fmap_base", 16384), fmap_max=setting(g, "fmap_max", 512),
      fmap_decay=setting(g, "fmap_decay", 1.0), modconv_impl=setting(g, "modconv_impl", "auto"),
      remat=config.get("remat", False), dtype=dtype)
  discriminator = StyleGAN2Discriminator(
      image_size=size, fmap_base=setting(d, "fmap_base", 16384),
      fmap_max=setting(d, "fmap_max", 512), fmap_decay=setting(d, "fmap_decay", 1.0),
      mbstd_group_size=setting(d, "mbstd_group_size", 4),
      mbstd_num_channels=setting(d, "mbstd_num_channels", 1), dtype=dtype)
  return generator, discriminator
