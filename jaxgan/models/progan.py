"""ProGAN (Karras et al. 2017): progressive growing, equalised learning rate, pixel norm, mbstd.

The networks of tkarras/progressive_growing_of_gans (networks.py, G_paper / D_paper):

G: z -> pixel norm -> 4x4 block (a dense layer to 16 * nf(1) reshaped to 4x4 -- the paper's 4x4
"conv" of a 1x1 input -- with ProGAN's gain sqrt(2)/4, then a 3x3 conv) -> per resolution
8 ... final: nearest 2x upsampling, two 3x3 convs. LeakyReLU(0.2) and pixel norm after every
conv. toRGB: a 1x1 conv (gain 1, linear) at every resolution.
D: fromRGB (1x1 conv + LeakyReLU) at every resolution; per resolution final ... 8: conv3x3 to
nf(k-1), conv3x3 to nf(k-2), 2x average pooling; at 4x4: minibatch stddev (one feature map), conv3x3
to nf(1), dense to nf(0), dense to 1 (gain 1). Every layer has equalised learning rate.
nf(stage) = min(fmap_base / 2^(stage * fmap_decay), fmap_max); the block at 2^k x 2^k has
nf(k-1) features (fmap_base 8192 and fmap_max 512: 512 up to 64x64, then 256, 128, 64, 32, 16).

Growing: `resolution` (a static int, 4 ... image_size; None = image_size) selects the blocks in
use and `alpha` (a traced float in [0, 1]) fades the newest one in. G returns
lerp(upscale(toRGB_{r/2}(h_{r/2})), toRGB_r(h_r), alpha); D mirrors it:
lerp(fromRGB_{r/2}(downscale(x)), block_r(fromRGB_r(x)), alpha), then the older blocks. At 4x4
alpha is ignored. Initialisation creates the parameters of every resolution whatever
resolution it is called at, so the parameter tree never changes shape during growth.

Departures from the official code: its `fused_scale` path (a transposed / strided 4x4 conv
holding the sum of four shifted 3x3 kernels, used from 128x128 up) is the same function as the
nearest-upsample + conv3x3 / conv3x3 + average-pool used here at every resolution; its
label-conditioning output (1 + label_size logits) is not implemented (unconditional only); its
`lod` fraction is `alpha` = 1 - frac(lod). The dense-as-4x4-conv reshapes to HWC order
(the official NCHW reshape orders the same parameters differently; the function family is the
same). Outputs are linear (no tanh), as in the official code.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from jaxgan.nn.basic import compute_dtype
from jaxgan.nn.equalized import EqualizedConv, EqualizedDense
from jaxgan.nn.fir import downscale_avg, upscale_nearest
from jaxgan.nn.style import minibatch_stddev, pixel_norm

SQRT2 = math.sqrt(2.0)


def lrelu(x):
  return nn.leaky_relu(x, 0.2)


def log2_size(size: int, who: str = "ProGAN") -> int:
  k = int(round(math.log2(size))) if size > 0 else 0
  if size < 4 or 2**k != size:
    raise ValueError(f"{who} needs a power-of-two image size >= 4, got {size}")
  return k


def num_features(stage: int, fmap_base: int, fmap_max: int, fmap_decay: float = 1.0) -> int:
  """The official nf(stage) = min(fmap_base / 2^(stage * decay), fmap_max)."""
  return min(int(fmap_base / (2.0**(stage * fmap_decay))), fmap_max)


def check_resolution(resolution: int | None, image_size: int, who: str) -> int:
  r = image_size if resolution is None else int(resolution)
  log2_size(r, who)
  if r > image_size:
    raise ValueError(f"{who}: resolution {r} is above the final one, {image_size}")
  return r


def lerp(a, b, t):
  return a + (b - a) * jnp.asarray(t, a.dtype)


class ProGANGenerator(nn.Module):
  """G.apply(vars, z, labels=None, train=True, resolution=None, alpha=1.0) -> [N, r, r, C] float32.

  Deterministic (no rng streams, one 'params' collection); labels and train are unused.
  """

  image_size: int
  channels: int
  fmap_base: int = 8192
  fmap_max: int = 512
  fmap_decay: float = 1.0
  dtype: jnp.dtype = jnp.float32

  def setup(self):
    top = log2_size(self.image_size)
    nf = lambda s: num_features(s, self.fmap_base, self.fmap_max, self.fmap_decay)
    self.input_dense = EqualizedDense(16 * nf(1), gain=SQRT2 / 4, use_bias=False,
                                      dtype=self.dtype)
    self.input_bias = self.param("b4_dense_bias", nn.initializers.zeros, (nf(1),), jnp.float32)
    self.input_conv = EqualizedConv(nf(1), (3, 3), dtype=self.dtype)
    self.convs = {str(2**k): (EqualizedConv(nf(k - 1), (3, 3), dtype=self.dtype),
                              EqualizedConv(nf(k - 1), (3, 3), dtype=self.dtype))
                  for k in range(3, top + 1)}
    self.to_rgb = {str(2**k): EqualizedConv(self.channels, (1, 1), gain=1.0, dtype=self.dtype)
                   for k in range(2, top + 1)}

  def features(self, z, resolution: int):
    """The block outputs {res: [N, res, res, nf]} from 4x4 up to `resolution`."""
    x = pixel_norm(z.astype(jnp.float32)).astype(self.dtype)
    h = self.input_dense(x).reshape(z.shape[0], 4, 4, -1) + self.input_bias.astype(self.dtype)
    h = pixel_norm(lrelu(h))
    h = pixel_norm(lrelu(self.input_conv(h)))
    outs = {4: h}
    res = 8
    while res <= resolution:
      conv0, conv1 = self.convs[str(res)]
      h = pixel_norm(lrelu(conv0(upscale_nearest(h))))
      h = pixel_norm(lrelu(conv1(h)))
      outs[res] = h
      res *= 2
    return outs

  def __call__(self, z, labels=None, train: bool = True, resolution: int | None = None,
               alpha=1.0):
    del labels, train
    r = check_resolution(resolution, self.image_size, "ProGAN G")
    if self.is_initializing():  # every block and toRGB, whatever the resolution
      for res, h in self.features(z, self.image_size).items():
        self.to_rgb[str(res)](h)
    feats = self.features(z, r)
    out = self.to_rgb[str(r)](feats[r])
    if r > 4:
      prev = upscale_nearest(self.to_rgb[str(r // 2)](feats[r // 2]))
      out = lerp(prev, out, alpha)
    return out.astype(jnp.float32)


class ProGANDiscriminator(nn.Module):
  """D.apply(vars, x, labels=None, train=True, resolution=None, alpha=1.0) -> [N] float32 logits.

  x: [N, r, r, C] at the current resolution r (`resolution`, when given, must equal x's size).
  Deterministic; the batch must be divisible by min(mbstd_group_size, N).
  """

  image_size: int
  fmap_base: int = 8192
  fmap_max: int = 512
  fmap_decay: float = 1.0
  mbstd_group_size: int = 4
  mbstd_num_channels: int = 1
  dtype: jnp.dtype = jnp.float32

  def setup(self):
    top = log2_size(self.image_size)
    nf = lambda s: num_features(s, self.fmap_base, self.fmap_max, self.fmap_decay)
    self.from_rgb = {str(2**k): EqualizedConv(nf(k - 1), (1, 1), dtype=self.dtype)
                     for k in range(2, top + 1)}
    self.convs = {str(2**k): (EqualizedConv(nf(k - 1), (3, 3), dtype=self.dtype),
                              EqualizedConv(nf(k - 2), (3, 3), dtype=self.dtype))
                  for k in range(3, top + 1)}
    self.final_conv = EqualizedConv(nf(1), (3, 3), dtype=self.dtype)
    self.final_dense0 = EqualizedDense(nf(0), gain=SQRT2, dtype=self.dtype)
    self.final_dense1 = EqualizedDense(1, gain=1.0, dtype=self.dtype)

  def block(self, h, res: int):
    conv0, conv1 = self.convs[str(res)]
    return downscale_avg(lrelu(conv1(lrelu(conv0(h)))))

  def forward(self, x, alpha):
    r = x.shape[1]
    h = lrelu(self.from_rgb[str(r)](x))
    if r > 4:
      h = self.block(h, r)
      prev = lrelu(self.from_rgb[str(r // 2)](downscale_avg(x)))
      h = lerp(prev, h, alpha)
    res = r // 2
    while res >= 8:
      h = self.block(h, res)
      res //= 2
    h = minibatch_stddev(h, self.mbstd_group_size, self.mbstd_num_channels)
    h = lrelu(self.final_conv(h)).reshape(h.shape[0], -1)
    h = lrelu(self.final_dense0(h))
    return self.final_dense1(h)[:, 0].astype(jnp.float32)

  def __call__(self, x, labels=None, train: bool = True, resolution: int | None = None,
               alpha=1.0):
    del labels, train
    r = check_resolution(x.shape[1], self.image_size, "ProGAN D")
    if resolution is not None and int(resolution) != r:
      raise ValueError(f"ProGAN D: resolution {resolution} but the images are {r}x{r}")
    x = x.astype(self.dtype)
    if self.is_initializing():  # every block and fromRGB, whatever the resolution
      n = x.shape[0]
      self.forward(jnp.zeros((n, self.image_size, self.image_size, x.shape[-1]), x.dtype), alpha)
      for res, layer in self.from_rgb.items():
        layer(jnp.zeros((n, int(res), int(res), x.shape[-1]), x.dtype))
    return self.forward(x, alpha)


def setting(section, key, default):
  """config.generator / config.discriminator's `key`, or the official default when unset."""
  return section.get(key, default) if section is not None else default


def build(config, info):
  """Reads generator.{fmap_base, fmap_max, fmap_decay}, discriminator.{fmap_base, fmap_max,
  fmap_decay, mbstd_group_size, mbstd_num_channels}; unset keys take the official values."""
  if config.get("conditional", False):
    raise ValueError("progan: the networks here are unconditional (set conditional=False)")
  g, d = config.generator, config.discriminator
  dtype = compute_dtype(config.compute_dtype)
  size, _, channels = info.shape
  generator = ProGANGenerator(
      image_size=size, channels=channels, fmap_base=setting(g, "fmap_base", 8192),
      fmap_max=setting(g, "fmap_max", 512), fmap_decay=setting(g, "fmap_decay", 1.0), dtype=dtype)
  discriminator = ProGANDiscriminator(
      image_size=size, fmap_base=setting(d, "fmap_base", 8192),
      fmap_max=setting(d, "fmap_max", 512), fmap_decay=setting(d, "fmap_decay", 1.0),
      mbstd_group_size=setting(d, "mbstd_group_size", 4),
      mbstd_num_channels=setting(d, "mbstd_num_channels", 1), dtype=dtype)
  return generator, discriminator
