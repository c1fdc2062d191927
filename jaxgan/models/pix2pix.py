"""pix2pix (Isola et al. 2016): a U-Net generator and a PatchGAN discriminator.

Generator: an encoder of 4x4 stride-2 convolutions (C64-C128-C256-C512-C512-...) down to a 1x1
bottleneck, and a decoder of 4x4 fractionally-strided convolutions back up, where every decoder
layer's output is concatenated with the mirrored encoder layer's (the skips that let low-level
structure, edges and positions, cross directly from input to output). The up-sampling layers
are 4x4 stride-2 transposed convolutions (padded_conv.TransposedConv2x, the same function as
flax's ConvTranspose with SAME padding). LeakyReLU(0.2) in the
encoder, ReLU in the decoder, no normalisation on the first encoder layer or the bottleneck (a
1x1 map, which batch norm at batch size 1 zeroes; the reference code leaves it out too), tanh
output. As in the reference code, no encoder convolution has a bias under batch norm (those two
without a norm included); under instance norm they all keep theirs. The generator's noise is
dropout (0.5) on the outputs of some decoder layers, chosen by `dropout_layers`: 'paper' (the
first three from the bottleneck, the paper's CD512 x 3) or 'code' (the reference code's: the
num_downs - 5 layers after the bottleneck's, e.g. 3 at 256x256 and 2 at 128x128).

Discriminator: the PatchGAN, a fully convolutional net whose every output logit judges one
N x N patch of the (input, output) pair; N, its receptive field, is set by config: 1 (PixelGAN,
1x1 convolutions), 16, 70 (the paper's default) or 286 (1 + 3 (2^(n+1) - 1 + 2^n) for n stride-2
layers, so 34 and 142 work too). Layers are 4x4 convolutions with zero padding 1 as in the
reference code: n with stride 2, then one with stride 1 and one to a single channel. Its logits
are (B, h, w); the adversarial losses average over patches.

Norms are 'batch' (the paper's) or 'instance'; weights start from N(0, 0.02).
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from jaxgan.nn.basic import compute_dtype
from jaxgan.nn.instance_norm import has_bias_of_its_own, norm
from jaxgan.nn.padded_conv import Conv, TransposedConv2x

INIT = nn.initializers.normal(0.02)
MAX_PATCH_LAYERS = 8


def receptive_field(layers) -> int:
  """Receptive field of a stack of convolutions given as [(kernel, stride), ...]."""
  field, jump = 1, 1
  for kernel, stride in layers:
    field += (kernel - 1) * jump
    jump *= stride
  return field


def patch_layers(num_strided: int) -> list[tuple[int, int]]:
  """(kernel, stride) of the PatchGAN with `num_strided` stride-2 layers (0: the PixelGAN)."""
  if num_strided == 0:
    return [(1, 1)] * 3
  return [(4, 2)] * num_strided + [(4, 1), (4, 1)]


def valid_receptive_fields() -> list[int]:
  return [receptive_field(patch_layers(n)) for n in range(MAX_PATCH_LAYERS + 1)]


def strided_layers_for(field: int) -> int:
  """The number of stride-2 layers giving a receptive field of `field` pixels."""
  fields = valid_receptive_fields()
  if field not in fields:
    raise ValueError(f"a PatchGAN receptive field must be one of {fields[:6]}... "
                     f"(1, 16, 70 and 286 are the paper's), got {field}")
  return fields.index(field)


def patch_output_size(image_size: int, field: int) -> int:
  """Side of the logit map the PatchGAN gives for an image_size input (padding 1 each layer)."""
  size = image_size
  for kernel, stride in patch_layers(strided_layers_for(field)):
    pad = 1 if kernel == 4 else 0
    size = (size + 2 * pad - kernel) // stride + 1
  return size


class UNetGenerator(nn.Module):
  out_channels: int
  base_features: int = 64
  max_multiplier: int = 8  # features stop doubling at 8 * base (the paper's C512)
  num_downs: int = 0  # 0: log2(image size), down to a 1x1 bottleneck
  norm: str = "batch"
  dropout: float = 0.5
  dropout_layers: str = "paper"  # 'paper' or 'code' (see the module's docstring)
  dtype: jnp.dtype = jnp.float32

  def depth(self, image_size: int) -> int:
    downs = self.num_downs or int(round(math.log2(image_size)))
    if image_size % 2**downs or downs < 2:
      raise ValueError(f"a U-Net with {downs} down-samplings needs an image side divisible by "
                       f"{2**downs} (and at least 2 down-samplings), got {image_size}")
    return downs

  def has_dropout(self, layer: int, downs: int) -> bool:
    """Whether decoder layer `layer` (0: the one from the bottleneck) ends with dropout."""
    if self.dropout <= 0:
      return False
    if self.dropout_layers == "paper":
      return layer < 3
    if self.dropout_layers == "code":
      return 1 <= layer <= downs - 5
    raise ValueError(f"dropout_layers must be 'paper' or 'code', got {self.dropout_layers!r}")

  @nn.compact
  def __call__(self, x, train: bool = True):
    downs = self.depth(x.shape[1])
    if x.shape[1] != x.shape[2]:
      raise ValueError(f"the U-Net wants square images, got {x.shape[1]}x{x.shape[2]}")
    features = [self.base_features * min(2**i, self.max_multiplier) for i in range(downs)]
    conv_bias = not has_bias_of_its_own(self.norm)
    h = x.astype(self.dtype)
    skips = []
    for i in range(downs):  # encoder
      if i > 0:
        h = nn.leaky_relu(h, 0.2)
      normed = 0 < i < downs - 1  # not the first layer, not the 1x1 bottleneck
      h = Conv(features[i], 4, 2, ((1, 1), (1, 1)), use_bias=conv_bias,
               kernel_init=INIT, dtype=self.dtype, name=f"down{i}")(h)
      if normed:
        h = norm(self.norm, train, self.dtype, name=f"down{i}_norm")(h)
      skips.append(h)
    for layer, i in enumerate(range(downs - 1, 0, -1)):  # decoder, bottleneck first
      h = nn.relu(h)
      h = TransposedConv2x(features[i - 1], 4, (2, 2), use_bias=conv_bias, kernel_init=INIT,
                           dtype=self.dtype, name=f"up{i}")(h)
      h = norm(self.norm, train, self.dtype, name=f"up{i}_norm")(h)
      if self.has_dropout(layer, downs):
        h = nn.Dropout(self.dropout, deterministic=not train)(h)
      h = jnp.concatenate([skips[i - 1], h], axis=-1)  # the skip from encoder layer i - 1
    h = nn.relu(h)
    h = TransposedConv2x(self.out_channels, 4, (2, 2), kernel_init=INIT, dtype=self.dtype,
                         name="up0")(h)
    return jnp.tanh(h).astype(jnp.float32)


class PatchDiscriminator(nn.Module):
  """D(x[, condition]) -> (B, h, w) logits, one per receptive_field-sized patch.

  With a condition (pix2pix's input image) the two are concatenated along channels, so D judges
  the pair; CycleGAN's discriminators get images alone.
  """

  receptive_field: int = 70
  base_features: int = 64
  max_multiplier: int = 8
  norm: str = "batch"
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, condition=None, train: bool = True):
    if condition is not None:
      x = jnp.concatenate([condition, x], axis=-1)
    strided = strided_layers_for(self.receptive_field)
    layers = patch_layers(strided)
    out_size = patch_output_size(x.shape[1], self.receptive_field)
    if out_size < 1:
      raise ValueError(f"a {self.receptive_field}x{self.receptive_field} PatchGAN needs larger "
                       f"images than {x.shape[1]}x{x.shape[2]}")
    conv_bias = not has_bias_of_its_own(self.norm)
    h = x.astype(self.dtype)
    for i, (kernel, stride) in enumerate(layers):
      last = i == len(layers) - 1
      features = 1 if last else self.base_features * min(2**i, self.max_multiplier)
      normed = 0 < i and not last
      pad = 1 if kernel == 4 else 0
      h = Conv(features, kernel, stride, ((pad, pad), (pad, pad)),
               use_bias=conv_bias or not normed, kernel_init=INIT, dtype=self.dtype,
               name=f"conv{i}")(h)
      if not last:
        if normed:
          h = norm(self.norm, train, self.dtype, name=f"conv{i}_norm")(h)
        h = nn.leaky_relu(h, 0.2)
    return h[..., 0].astype(jnp.float32)


def build(config, info):
  """(U-Net G, PatchGAN D) for paired data: G maps info.shape inputs to info.shape_b targets."""
  dtype = compute_dtype(config.compute_dtype)
  g, d = config.generator, config.discriminator
  generator = UNetGenerator(out_channels=info.target_shape[-1], base_features=g.base_features,
                            max_multiplier=g.max_multiplier, num_downs=g.num_downs, norm=g.norm,
                            dropout=g.dropout, dropout_layers=g.dropout_layers, dtype=dtype)
  generator.depth(info.shape[0])  # fails now, with the reason, if the size does not fit
  discriminator = PatchDiscriminator(receptive_field=d.receptive_field,
                                     base_features=d.base_features, max_multiplier=d.max_multiplier,
                                     norm=d.norm, dtype=dtype)
  if patch_output_size(info.shape[0], d.receptive_field) < 1:
    raise ValueError(f"a {d.receptive_field}x{d.receptive_field} PatchGAN needs images larger "
                     f"than {info.shape[0]}x{info.shape[1]}")
  return generator, discriminator
