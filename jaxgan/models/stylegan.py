"""StyleGAN (Karras et al. 2018): mapping network, constant input, AdaIN, noise, mixing, truncation.

The networks of NVlabs/stylegan (training/networks_stylegan.py, G_style / G_mapping /
G_synthesis / D_basic), unconditional:

Mapping: z -> pixel norm -> `mapping_layers` equalised dense layers (width `mapping_features`, the
last `w_dim`), each followed by LeakyReLU(0.2), learning-rate multiplier 0.01 -> w, broadcast to
`num_ws` = 2 log2(size) - 2 per-layer copies.
Synthesis: a learned constant 4x4 (ones), then two layers per resolution; layer i: [conv] ->
noise (a learned strength per channel, zero-initialised) -> bias -> LeakyReLU(0.2) -> instance
norm -> style (AdaIN from ws[:, i]). At 4x4 the first layer has no conv, the second a 3x3 conv;
from 8x8 the first is nearest 2x upsampling -> conv3x3 -> blur [1, 2, 1], the second a conv3x3.
Widths nf(k-1) as ProGAN (fmap_base 8192, fmap_max 512). toRGB: 1x1 conv (gain 1) per resolution.
D: ProGAN's D with [1, 2, 1] blur before the downsampling conv and the activation after the
average pool (D_basic: act(bias(downscale(conv(blur(x)))))), minibatch stddev (group 4, 1 map).

Regularisation and sampling (G_style):
- mixing: in training with probability `mixing_prob` (0.9) a second z is drawn from the 'noise'
  stream and mapped; one crossover index c ~ U{1, ..., L-1} is drawn per batch (L the layers in
  use at the current resolution); layers < c take w1, layers >= c take w2.
- the tracked average w: `w_avg` in the 'w_avg' collection, lerp(mean_n w1, w_avg, 0.995),
  updated only when `train=True` and the collection is mutable (never at init).
- truncation: ws[:, i] <- w_avg + psi (ws[:, i] - w_avg) for layers i < truncation_cutoff (None:
  all layers); psi = 1 is the identity.
- progressive growing as ProGAN (`resolution`, `alpha`); the default trains at the final size.

Departures from the official code: the upsampling conv from 128x128 up ('fused_scale') is a
transposed conv holding the sum of four shifted 3x3 kernels, the same function as the
nearest-upsample + conv3x3 used here at every resolution (likewise the downsampling conv in D);
the style dense layer of 2C outputs with a run-time +1 on the scale is two dense layers with
the scale's bias initialised to 1 (jaxgan.nn.style.AdaIN); no label conditioning; outputs are
linear (no tanh), as in the official code.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models.progan import (ProGANDiscriminator, check_resolution, lerp, log2_size, lrelu,
                                  num_features, setting)
from jaxgan.nn.basic import compute_dtype
from jaxgan.nn.equalized import EqualizedConv, EqualizedDense
from jaxgan.nn.fir import blur, downscale_avg, upscale_nearest
from jaxgan.nn.style import AdaIN, NoiseInjection, pixel_norm

SQRT2 = math.sqrt(2.0)


def num_ws(image_size: int) -> int:
  return 2 * log2_size(image_size, "StyleGAN") - 2


class MappingNetwork(nn.Module):
  """z [N, Z] -> w [N, w_dim]: pixel norm, then equalised dense + LeakyReLU(0.2) layers.

  StyleGAN applies the activation gain inside the weight scale (gain sqrt(2)), StyleGAN2's
  pytorch code after the activation (`act_gain_after`); see jaxgan.nn.equalized.
  """

  num_layers: int = 8
  features: int = 512
  w_dim: int = 512
  lr_mul: float = 0.01
  act_gain_after: bool = False

  @nn.compact
  def __call__(self, z):
    x = pixel_norm(z.astype(jnp.float32))
    for i in range(self.num_layers):
      width = self.w_dim if i == self.num_layers - 1 else self.features
      if self.act_gain_after:
        x = lrelu(EqualizedDense(width, gain=1.0, lr_mul=self.lr_mul, name=f"dense{i}")(x)) * SQRT2
      else:
        x = lrelu(EqualizedDense(width, gain=SQRT2, lr_mul=self.lr_mul, name=f"dense{i}")(x))
    return x


class StyleGeneratorBase(nn.Module):
  """What StyleGAN's and StyleGAN2's generators share: mapping, w_avg, mixing and truncation.

  Subclasses define `setup_synthesis()`, `synthesis(ws, ...)` and `num_ws`.
  """

  image_size: int
  channels: int
  w_dim: int = 512
  mapping_layers: int = 8
  mapping_features: int = 512
  mapping_lr_mul: float = 0.01
  w_avg_beta: float = 0.995
  mixing_prob: float = 0.9
  truncation_cutoff: int | None = 8
  dtype: jnp.dtype = jnp.float32

  act_gain_after = False  # class constant: StyleGAN2 overrides

  def setup(self):
    self.mapping_net = MappingNetwork(self.mapping_layers, self.mapping_features, self.w_dim,
                                      self.mapping_lr_mul, self.act_gain_after)
    self.w_avg = self.variable("w_avg", "w_avg", jnp.zeros, (self.w_dim,), jnp.float32)
    self.setup_synthesis()

  @property
  def num_ws(self) -> int:
    return num_ws(self.image_size)

  def layers_in_use(self, resolution: int) -> int:
    """The ws the synthesis reads at `resolution` (StyleGAN: two per resolution)."""
    return num_ws(resolution)

  def truncate(self, ws, psi, cutoff):
    if isinstance(psi, (int, float)) and psi == 1:
      return ws
    avg = self.w_avg.value.astype(ws.dtype)
    truncated = avg + (ws - avg) * jnp.asarray(psi, ws.dtype)
    if cutoff is None:
      return truncated
    layer = jnp.arange(ws.shape[1])[None, :, None]
    return jnp.where(layer < cutoff, truncated, ws)

  def mapping(self, z, labels=None, train: bool = False, truncation_psi=1.0,
              truncation_cutoff="config"):
    """z [N, Z] -> ws [N, num_ws, w_dim] (float32), truncated toward w_avg when psi != 1.

    In training (train=True and the 'w_avg' collection mutable, not at init) w_avg moves to
    lerp(mean_n w, w_avg, w_avg_beta). truncation_cutoff: 'config' = the module's.
    """
    del labels
    w = self.mapping_net(z)
    if train and self.is_mutable_collection("w_avg") and not self.is_initializing():
      self.w_avg.value = lerp(jnp.mean(w, axis=0), self.w_avg.value, self.w_avg_beta)
    ws = jnp.broadcast_to(w[:, None, :], (w.shape[0], self.num_ws, w.shape[1]))
    cutoff = self.truncation_cutoff if isinstance(truncation_cutoff, str) else truncation_cutoff
    return self.truncate(ws, truncation_psi, cutoff)

  def styles(self, z, labels=None, train: bool = False, mixing_prob=None, truncation_psi=1.0,
             truncation_cutoff="config", resolution: int | None = None):
    """The per-layer ws that __call__ synthesises from: mapping, mixing, truncation.

    mixing_prob: None = the module's in training, 0 in evaluation. Mixing draws a second z, a
    crossover index and a coin from the 'noise' rng stream.
    """
    r = check_resolution(resolution, self.image_size, type(self).__name__)
    ws = self.mapping(z, labels, train, 1.0)
    prob = (self.mixing_prob if train else 0.0) if mixing_prob is None else mixing_prob
    in_use = self.layers_in_use(r)
    no_rng = self.is_initializing() and not self.has_rng("noise")
    if not (isinstance(prob, (int, float)) and prob == 0) and in_use > 1 and not no_rng:
      k_z, k_cut, k_coin = jax.random.split(self.make_rng("noise"), 3)
      ws2 = self.mapping(jax.random.normal(k_z, z.shape, jnp.float32), labels, False, 1.0)
      cutoff = jax.random.randint(k_cut, (), 1, in_use)
      cutoff = jnp.where(jax.random.uniform(k_coin, ()) < prob, cutoff, self.num_ws)
      layer = jnp.arange(self.num_ws)[None, :, None]
      ws = jnp.where(layer < cutoff, ws, ws2)
    cutoff = self.truncation_cutoff if isinstance(truncation_cutoff, str) else truncation_cutoff
    return self.truncate(ws, truncation_psi, cutoff)

  def __call__(self, z, labels=None, train: bool = True, resolution: int | None = None,
               alpha=1.0, truncation_psi=1.0, truncation_cutoff="config", mixing_prob=None,
               noise_mode: str = "random"):
    ws = self.styles(z, labels, train, mixing_prob, truncation_psi, truncation_cutoff,
                     resolution)
    return self.synthesis(ws, resolution=resolution, alpha=alpha, noise_mode=noise_mode)


class StyleLayer(nn.Module):
  """StyleGAN's layer epilogue: noise -> bias -> LeakyReLU(0.2) -> instance norm -> AdaIN(w)."""

  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, w, noise_mode: str = "random"):
    x = NoiseInjection(per_channel=True, name="noise")(x, noise_mode)
    bias = self.param("bias", nn.initializers.zeros, (x.shape[-1],), jnp.float32)
    x = lrelu(x + bias.astype(x.dtype))
    return AdaIN(self.dtype, name="adain")(x, w)


class StyleGANGenerator(StyleGeneratorBase):
  """G.apply(vars, z, labels=None, train=True, resolution=None, alpha=1.0, truncation_psi=1.0,
  truncation_cutoff='config', mixing_prob=None, noise_mode='random') -> [N, r, r, C] float32.

  rng streams: 'noise' (per-layer noise when noise_mode='random'; mixing in training).
  Collections: 'params', 'w_avg' (w_avg [w_dim]), 'noise_const' (each layer's fixed noise).
  Methods (G.apply(..., method=...)): mapping(z, labels, train, truncation_psi,
  truncation_cutoff) -> ws; styles(z, labels, train, mixing_prob, truncation_psi,
  truncation_cutoff, resolution) -> ws; synthesis(ws, resolution, alpha, noise_mode) -> images.
  """

  fmap_base: int = 8192
  fmap_max: int = 512
  fmap_decay: float = 1.0

  def setup_synthesis(self):
    top = log2_size(self.image_size, "StyleGAN")
    nf = lambda s: num_features(s, self.fmap_base, self.fmap_max, self.fmap_decay)
    self.const = self.param("const", nn.initializers.ones, (4, 4, nf(1)), jnp.float32)
    self.convs = {str(2**k): EqualizedConv(nf(k - 1), (3, 3), use_bias=False, dtype=self.dtype)
                  for k in range(2, top + 1)}  # 4: the second 4x4 layer's conv
    self.convs_up = {str(2**k): EqualizedConv(nf(k - 1), (3, 3), use_bias=False,
                                              dtype=self.dtype) for k in range(3, top + 1)}
    self.layers = [StyleLayer(self.dtype) for _ in range(self.num_ws)]
    self.to_rgb = {str(2**k): EqualizedConv(self.channels, (1, 1), gain=1.0, dtype=self.dtype)
                   for k in range(2, top + 1)}

  def features(self, ws, resolution: int, noise_mode: str):
    """The block outputs {res: [N, res, res, nf]} from 4x4 up to `resolution`."""
    n = ws.shape[0]
    h = jnp.broadcast_to(self.const.astype(self.dtype), (n,) + self.const.shape)
    h = self.layers[0](h, ws[:, 0], noise_mode)
    h = self.layers[1](self.convs["4"](h), ws[:, 1], noise_mode)
    outs, res, i = {4: h}, 8, 2
    while res <= resolution:
      h = blur(self.convs_up[str(res)](upscale_nearest(h)))
      h = self.layers[i](h, ws[:, i], noise_mode)
      h = self.layers[i + 1](self.convs[str(res)](h), ws[:, i + 1], noise_mode)
      outs[res] = h
      res, i = res * 2, i + 2
    return outs

  def synthesis(self, ws, resolution: int | None = None, alpha=1.0, noise_mode: str = "random"):
    """ws [N, num_ws, w_dim] -> images [N, r, r, C] float32 (layers past r are not read)."""
    r = check_resolution(resolution, self.image_size, "StyleGAN G")
    if self.is_initializing():  # every layer and toRGB, whatever the resolution
      for res, h in self.features(ws, self.image_size, noise_mode).items():
        self.to_rgb[str(res)](h)
    feats = self.features(ws, r, noise_mode)
    out = self.to_rgb[str(r)](feats[r])
    if r > 4:
      out = lerp(upscale_nearest(self.to_rgb[str(r // 2)](feats[r // 2])), out, alpha)
    return out.astype(jnp.float32)


class StyleGANDiscriminator(ProGANDiscriminator):
  """ProGAN's D with StyleGAN's downsampling: conv3x3 -> act, blur -> conv3x3 -> avg pool -> act.

  Same call signature as ProGANDiscriminator.
  """

  def block(self, h, res: int):
    conv0, conv1 = self.convs[str(res)]
    return lrelu(downscale_avg(conv1(blur(lrelu(conv0(h))))))


def build(config, info):
  """Reads generator.{w_dim, mapping_layers, mapping_features, mapping_lr_mul, w_avg_beta,
  mixing_prob, truncation_cutoff, fmap_base, fmap_max, fmap_decay} and discriminator.{fmap_base,
  fmap_max, fmap_decay, mbstd_group_size, mbstd_num_channels}; unset keys take the official
  values (the latent size is z's, config.latent_dim: 512 in the paper)."""
  if config.get("conditional", False):
    raise ValueError("stylegan: the networks here are unconditional (set conditional=False)")
  g, d = config.generator, config.discriminator
  dtype = compute_dtype(config.compute_dtype)
  size, _, channels = info.shape
  generator = StyleGANGenerator(
      image_size=size, channels=channels, w_dim=setting(g, "w_dim", 512),
      mapping_layers=setting(g, "mapping_layers", 8),
      mapping_features=setting(g, "mapping_features", 512),
      mapping_lr_mul=setting(g, "mapping_lr_mul", 0.01), w_avg_beta=setting(g, "w_avg_beta", 0.995),
      mixing_prob=setting(g, "mixing_prob", 0.9),
      truncation_cutoff=setting(g, "truncation_cutoff", 8), fmap_base=setting(g, "fmap_base", 8192),
      fmap_max=setting(g, "fmap_max", 512), fmap_decay=setting(g, "fmap_decay", 1.0), dtype=dtype)
  discriminator = StyleGANDiscriminator(
      image_size=size, fmap_base=setting(d, "fmap_base", 8192),
      fmap_max=setting(d, "fmap_max", 512), fmap_decay=setting(d, "fmap_decay", 1.0),
      mbstd_group_size=setting(d, "mbstd_group_size", 4),
      mbstd_num_channels=setting(d, "mbstd_num_channels", 1), dtype=dtype)
  return generator, discriminator
