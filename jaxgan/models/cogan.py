"""CoGAN (Liu & Tuzel 2016): two generators sharing their first layers, two discriminators
sharing their last layers.

The first layers of a generator decode high-level semantics and the last ones render details,
so sharing the first layers of G_A and G_B (one set of parameters, applied once to the common
z) ties the two domains' images to the same content, while their own last layers render each
domain's look. The discriminators share their last (high-level) layers for the same reason and
keep their own first ones. How many layers are shared is set by config; 0 gives two independent
GANs (the paper's ablation).

The layers are DCGAN's (this library's `dcgan` model; convolutions from nn.padded_conv, which
runs small maps as matrix products) for image sizes 4 * 2^k:
G: z -> dense to 4x4 -> k fractionally-strided 4x4 convolutions (BN + ReLU, tanh output), k + 1
layers; D: k strided 4x4 convolutions (LeakyReLU 0.2, BN but on the first) -> one dense logit,
k + 1 layers. A shared D layer runs once on the two domains' features stacked along the batch,
so each parameter gets both branches' gradients in one pass.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from jaxgan.models.dcgan import _num_blocks
from jaxgan.nn.basic import compute_dtype
from jaxgan.nn.instance_norm import has_bias_of_its_own, norm
from jaxgan.nn.padded_conv import Conv, TransposedConv2x

INIT = nn.initializers.normal(0.02)


class GeneratorLayer(nn.Module):
  """Layer `index` of a CoGAN generator of `num_layers` layers."""

  index: int
  num_layers: int
  features: int  # output channels (for the dense projection: of its 4x4 map)
  norm: str = "batch"
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, h, train: bool):
    last = self.index == self.num_layers - 1
    bias = last or not has_bias_of_its_own(self.norm)
    if self.index == 0:
      h = nn.Dense(4 * 4 * self.features, use_bias=bias, kernel_init=INIT, dtype=self.dtype)(
          h.astype(self.dtype))
      h = h.reshape(h.shape[0], 4, 4, self.features)
    else:
      h = TransposedConv2x(self.features, 4, (2, 2), use_bias=bias, kernel_init=INIT,
                           dtype=self.dtype)(h)
    if last:
      return jnp.tanh(h).astype(jnp.float32)
    return nn.relu(norm(self.norm, train, self.dtype)(h))


class DiscriminatorLayer(nn.Module):
  """Layer `index` of a CoGAN discriminator of `num_layers` layers (the last: the logit)."""

  index: int
  num_layers: int
  features: int
  norm: str = "batch"
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, h, train: bool):
    if self.index == self.num_layers - 1:
      h = h.reshape(h.shape[0], -1)
      return nn.Dense(1, kernel_init=INIT, dtype=self.dtype)(h)[:, 0].astype(jnp.float32)
    normed = self.index > 0
    h = Conv(self.features, 4, 2, "SAME", kernel_init=INIT,
             use_bias=not normed or not has_bias_of_its_own(self.norm), dtype=self.dtype)(
                 h.astype(self.dtype))
    if normed:
      h = norm(self.norm, train, self.dtype)(h)
    return nn.leaky_relu(h, 0.2)


def check_shared(shared: int, num_layers: int, what: str):
  if not 0 <= shared < num_layers:
    raise ValueError(f"{what} has {num_layers} layers, so it can share 0 to {num_layers - 1} "
                     f"(its {'last' if what.startswith('G') else 'first'} layer is always its "
                     f"own), got {shared}")


class CoupledGenerator(nn.Module):
  """(z[, labels]) -> (image_a, image_b): the first `shared_layers` layers are one network."""

  image_size: int
  channels: tuple[int, int]  # (domain A's, domain B's)
  base_features: int = 64
  shared_layers: int = 3
  norm: str = "batch"
  dtype: jnp.dtype = jnp.float32

  def num_layers(self) -> int:
    return _num_blocks(self.image_size) + 1

  def layer_features(self) -> list[int]:
    blocks = _num_blocks(self.image_size)
    return [self.base_features * 2 ** (blocks - 1 - i) for i in range(blocks)]

  @nn.compact
  def __call__(self, z, labels=None, train: bool = True):
    del labels
    num = self.num_layers()
    check_shared(self.shared_layers, num, "G")
    hidden = self.layer_features()

    def layer(i, domain):
      features = hidden[i] if i < num - 1 else self.channels[domain == "b"]
      name = f"shared{i}" if domain is None else f"{domain}{i}"
      return GeneratorLayer(i, num, features, self.norm, self.dtype, name=name)

    h = z
    for i in range(self.shared_layers):
      h = layer(i, None)(h, train)
    h_a = h_b = h
    for i in range(self.shared_layers, num):
      h_a = layer(i, "a")(h_a, train)
      h_b = layer(i, "b")(h_b, train)
    return h_a, h_b


class CoupledDiscriminator(nn.Module):
  """(x_a, x_b) -> (logits_a, logits_b): the last `shared_layers` layers are one network."""

  image_size: int
  base_features: int = 64
  shared_layers: int = 3
  norm: str = "batch"
  dtype: jnp.dtype = jnp.float32

  def num_layers(self) -> int:
    return _num_blocks(self.image_size) + 1

  @nn.compact
  def __call__(self, x_a, x_b, train: bool = True):
    num = self.num_layers()
    check_shared(self.shared_layers, num, "D")
    first_shared = num - self.shared_layers

    def layer(i, domain):
      name = f"shared{i}" if domain is None else f"{domain}{i}"
      return DiscriminatorLayer(i, num, self.base_features * 2**i, self.norm, self.dtype,
                                name=name)

    h_a, h_b = x_a, x_b
    for i in range(first_shared):
      h_a = layer(i, "a")(h_a, train)
      h_b = layer(i, "b")(h_b, train)
    if first_shared == num:
      return h_a, h_b
    split = h_a.shape[0]
    h = jnp.concatenate([h_a, h_b], axis=0)
    for i in range(first_shared, num):
      h = layer(i, None)(h, train)
    return h[:split], h[split:]


def build(config, info):
  dtype = compute_dtype(config.compute_dtype)
  size = info.shape[0]
  if info.shape[:2] != info.target_shape[:2]:
    raise ValueError(f"the two domains must share one image size, got {info.shape} and "
                     f"{info.target_shape}")
  _num_blocks(size)
  g, d = config.generator, config.discriminator
  generator = CoupledGenerator(size, (info.shape[-1], info.target_shape[-1]),
                               base_features=g.base_features, shared_layers=g.shared_layers,
                               norm=g.norm, dtype=dtype)
  discriminator = CoupledDiscriminator(size, base_features=d.base_features,
                                       shared_layers=d.shared_layers, norm=d.norm, dtype=dtype)
  check_shared(g.shared_layers, generator.num_layers(), "G")
  check_shared(d.shared_layers, discriminator.num_layers(), "D")
  return generator, discriminator


# ---------------------------------------------------------------- the paper's MNIST networks
#
# Facts from the paper's Caffe model (mnist.edge.cogan.train.ptt in mingyuliutw/CoGAN), for
# 28x28 images. G: z -> dense to 4x4x1024 -> deconvolutions 3x3 stride 2 pad 1 to 7x7x512,
# 13x13x256, 25x25x128 (each batch norm with a bias and no scale, then PReLU), all shared; each
# domain's own 6x6 stride 1 pad 1 deconvolution to 28x28x1. D: each domain's own 5x5 convolution
# to 20 maps, then shared: 2x2 max pool, 5x5 convolution to 50, 2x2 max pool, dense 500, PReLU,
# dropout 0.5, one logit (the Caffe model's two-way softmax is a sigmoid of one logit). No batch
# norm in D. Weights He-normal ("msra"), biases zero.

PAPER_SIZE = 28
HE_INIT = nn.initializers.variance_scaling(2.0, "fan_in", "normal")


class PReLU(nn.Module):
  """max(0, x) + a * min(0, x) with one learnt slope per channel (Caffe's default), from 0.25."""

  @nn.compact
  def __call__(self, x):
    slope = self.param("slope", nn.initializers.constant(0.25), (x.shape[-1],), jnp.float32)
    return jnp.where(x >= 0, x, slope.astype(x.dtype) * x)


def _deconv(features, kernel, stride, pad, dtype, name):
  """Caffe's Deconvolution(kernel, stride, pad): the full transposed convolution, cropped by
  `pad` on every side (out = (in - 1) * stride + kernel - 2 * pad)."""
  conv = nn.ConvTranspose(features, (kernel, kernel), (stride, stride), padding="VALID",
                          kernel_init=HE_INIT, dtype=dtype, name=name)
  return lambda h: conv(h)[:, pad:-pad, pad:-pad, :] if pad else conv(h)


class PaperCoupledGenerator(nn.Module):
  """z -> (image_a, image_b) at 28x28: every layer shared but each domain's output layer."""

  channels: tuple[int, int]
  features: tuple[int, ...] = (1024, 512, 256, 128)
  bn_momentum: float = 0.9
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, z, labels=None, train: bool = True):
    del labels

    def bn_prelu(h, i):
      h = nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum, epsilon=1e-5,
                       use_scale=False, dtype=self.dtype, name=f"shared_bn{i}")(h)
      return PReLU(name=f"shared_prelu{i}")(h)

    first, *rest = self.features
    h = nn.Dense(4 * 4 * first, kernel_init=HE_INIT, dtype=self.dtype,
                 name="shared_dense0")(z.astype(self.dtype))
    h = bn_prelu(h.reshape(h.shape[0], 4, 4, first), 0)
    for i, width in enumerate(rest, start=1):
      h = _deconv(width, 3, 2, 1, self.dtype, f"shared_deconv{i}")(h)
      h = bn_prelu(h, i)
    outs = [jnp.tanh(_deconv(c, 6, 1, 1, self.dtype, f"{d}_out")(h)).astype(jnp.float32)
            for d, c in zip("ab", self.channels)]
    return outs[0], outs[1]


class PaperCoupledDiscriminator(nn.Module):
  """(x_a, x_b) -> (logits_a, logits_b) at 28x28: each domain's first convolution, the rest
  shared (run once on both domains' maps stacked along the batch)."""

  features: tuple[int, ...] = (20, 50, 500)
  dropout: float = 0.5
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x_a, x_b, train: bool = True):
    conv0, conv1, dense = self.features

    def first(x, domain):
      return nn.Conv(conv0, (5, 5), padding="VALID", kernel_init=HE_INIT, dtype=self.dtype,
                     name=f"{domain}_conv0")(x.astype(self.dtype))

    h = jnp.concatenate([first(x_a, "a"), first(x_b, "b")], axis=0)
    h = nn.max_pool(h, (2, 2), (2, 2))
    h = nn.Conv(conv1, (5, 5), padding="VALID", kernel_init=HE_INIT, dtype=self.dtype,
                name="shared_conv1")(h)
    h = nn.max_pool(h, (2, 2), (2, 2))
    h = nn.Dense(dense, kernel_init=HE_INIT, dtype=self.dtype,
                 name="shared_dense2")(h.reshape(h.shape[0], -1))
    h = PReLU(name="shared_prelu2")(h)
    h = nn.Dropout(self.dropout, deterministic=not train)(h)
    logits = nn.Dense(1, kernel_init=HE_INIT, dtype=self.dtype, name="shared_logit")(h)
    logits = logits[:, 0].astype(jnp.float32)
    split = x_a.shape[0]
    return logits[:split], logits[split:]


def build_paper(config, info):
  """The paper's MNIST G and D (architecture 'cogan_paper'); 28x28 images only."""
  for shape in (info.shape, info.target_shape):
    if tuple(shape[:2]) != (PAPER_SIZE, PAPER_SIZE):
      raise ValueError(f"the paper's CoGAN networks are built for {PAPER_SIZE}x{PAPER_SIZE} "
                       f"images (data.image_size={PAPER_SIZE}), got {shape}")
  g, d = config.generator, config.discriminator
  if len(g.features) != 4 or len(d.features) != 3:
    raise ValueError("cogan_paper takes generator.features (dense, then 3 deconvolutions: 4 "
                     f"widths) and discriminator.features (3 widths), got {tuple(g.features)} "
                     f"and {tuple(d.features)}")
  dtype = compute_dtype(config.compute_dtype)
  generator = PaperCoupledGenerator((info.shape[-1], info.target_shape[-1]),
                                    features=tuple(g.features), dtype=dtype)
  discriminator = PaperCoupledDiscriminator(features=tuple(d.features), dropout=d.dropout,
                                            dtype=dtype)
  return generator, discriminator
