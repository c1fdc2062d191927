"""StackGAN (Zhang et al. 2017): text to image in two stacked stages, with conditioning
augmentation. The networks of the reference code (hanzhanggit/StackGAN-Pytorch, code/model.py),
generalised to other resolutions.

- Conditioning augmentation (`CondAugment`, each generator its own): Dense(1024 -> 2 Nc) + ReLU
  (the reference's CA_NET: a ReLU, not the GLU of StackGAN-v2), split into mu and log sigma^2;
  c = mu + sigma * eps with eps ~ N(0, I) from the 'noise' stream, drawn at training and at
  sampling time. `kl_divergence` is the reference's KL_loss: -1/2 mean(1 + log s^2 - mu^2 - s^2),
  a mean over batch and dimensions. `generator.ca=False` is the no-CA ablation: c = mu.
- Stage-I G: [z, c] -> Dense (no bias) + BN + ReLU -> (8 Ng) x 4 x 4, then nearest-upsample +
  3x3 conv + BN + ReLU blocks halving the features up to the Stage-I size, a 3x3 conv to RGB and
  tanh. (Ng = generator.gf_dim; the reference's GF_DIM * 8 at 4x4.)
- Stage-II G: the (frozen) Stage-I image encoded by a 3x3 conv + ReLU and two 4x4 stride-2 convs
  + BN + ReLU (4 Ng features at a quarter of the Stage-I size), its own CA's c replicated
  spatially and joined, a 3x3 conv + BN + ReLU, `generator.r_num` residual blocks, then upsample
  blocks halving the features up to the Stage-II size, 3x3 conv, tanh. No z of its own.
- D (both stages): 4x4 stride-2 convs (no bias; BN but on the first; LeakyReLU 0.2) doubling
  from Nd features down to 4x4; where that ends above 8 Nd features (the reference's 256x256
  Stage-II D) 3x3 conv + BN + LeakyReLU layers halve them back to 8 Nd. The conditioned head
  joins the condition (Nc, G's mu, spatially replicated to 4x4; the reference feeds D the
  generator's CA mean, detached) with a 3x3 conv + BN + LeakyReLU keeping the image features'
  width (8 Nd at 64 and 256; 2 Nd on a 16x16 Stage-I D), then a 4x4 stride-4 conv to one logit; the unconditioned head (Stage-II) is the 4x4 stride-4 conv on the image features
  alone. Logits, not the reference's sigmoid outputs (the loss is the same BCE).

Convolutions have no bias where the reference has none (its conv3x3 and the strided convs);
weights start from N(0, 0.02) and BN scales from N(1, 0.02), the reference's weights_init.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.nn.basic import compute_dtype
from jaxgan.nn.padded_conv import Conv, UpsampleConv

INIT = nn.initializers.normal(0.02)
PAD1 = ((1, 1), (1, 1))


def _bn_scale_init(key, shape, dtype=jnp.float32):
  return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


def batch_norm(train: bool, dtype, name=None):
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                      scale_init=_bn_scale_init, dtype=dtype, name=name)


def kl_divergence(mu, logvar):
  """KL(N(mu, sigma^2) || N(0, I)) as the reference's KL_loss: the mean over batch and
  dimensions of -1/2 (1 + log sigma^2 - mu^2 - sigma^2)."""
  mu, logvar = mu.astype(jnp.float32), logvar.astype(jnp.float32)
  return -0.5 * jnp.mean(1.0 + logvar - jnp.square(mu) - jnp.exp(logvar))


def _log2_steps(low: int, high: int, what: str) -> int:
  steps = int(round(math.log2(high / low))) if high >= low > 0 else -1
  if steps < 0 or low * 2**steps != high:
    raise ValueError(f"{what}: {high} is not {low} times a power of two")
  return steps


class CondAugment(nn.Module):
  """Text embedding -> (c, mu, log sigma^2)."""

  condition_dim: int
  sample: bool = True  # False: the no-CA ablation, c = mu
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, embedding):
    x = nn.relu(nn.Dense(2 * self.condition_dim, kernel_init=INIT, dtype=self.dtype)(
        embedding.astype(self.dtype)))
    mu, logvar = x[:, :self.condition_dim], x[:, self.condition_dim:]
    if not self.sample:
      return mu, mu, logvar
    eps = jax.random.normal(self.make_rng("noise"), mu.shape, jnp.float32).astype(mu.dtype)
    return mu + jnp.exp(0.5 * logvar) * eps, mu, logvar


def ca_mean(g_params, embedding, condition_dim: int, dtype=jnp.float32):
  """mu of a generator's CA (its params['ca']) for text embeddings: what D is given as a
  caption's condition, here for text the generator was not asked to draw."""
  module = CondAugment(condition_dim, sample=False, dtype=dtype)
  return module.apply({"params": g_params["ca"]}, embedding)[1]


class UpBlock(nn.Module):
  features: int
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, h, train: bool):
    # nearest-neighbour x2 and a 3x3 conv, fused (the parameters of Conv_0 = Conv(3, pad 1))
    h = UpsampleConv(self.features, kernel_init=INIT, dtype=self.dtype, name="Conv_0")(h)
    return nn.relu(batch_norm(train, self.dtype)(h))


class ResBlock(nn.Module):
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool):
    c = x.shape[-1]
    h = Conv(c, 3, 1, PAD1, use_bias=False, kernel_init=INIT, dtype=self.dtype)(x)
    h = nn.relu(batch_norm(train, self.dtype)(h))
    h = Conv(c, 3, 1, PAD1, use_bias=False, kernel_init=INIT, dtype=self.dtype)(h)
    return nn.relu(batch_norm(train, self.dtype)(h) + x)


def _to_rgb(h, dtype):
  h = Conv(3, 3, 1, PAD1, use_bias=False, kernel_init=INIT, dtype=dtype)(h)
  return jnp.tanh(h).astype(jnp.float32)


class Stage1Generator(nn.Module):
  """(z, text embedding) -> (Stage-I image, mu, log sigma^2)."""

  image_size: int
  gf_dim: int = 128
  condition_dim: int = 128
  ca: bool = True
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, z, embedding, train: bool = True):
    blocks = _log2_steps(4, self.image_size, "Stage-I image size")
    c, mu, logvar = CondAugment(self.condition_dim, self.ca, self.dtype, name="ca")(embedding)
    features = self.gf_dim * 8
    h = jnp.concatenate([z.astype(self.dtype), c.astype(self.dtype)], axis=-1)
    h = nn.Dense(4 * 4 * features, use_bias=False, kernel_init=INIT, dtype=self.dtype)(h)
    h = nn.relu(batch_norm(train, self.dtype)(h)).reshape(z.shape[0], 4, 4, features)
    for _ in range(blocks):
      features = max(features // 2, 1)
      h = UpBlock(features, self.dtype)(h, train)
    return _to_rgb(h, self.dtype), mu, logvar


class Stage2Generator(nn.Module):
  """(Stage-I image, text embedding) -> (Stage-II image, mu, log sigma^2)."""

  image_size: int
  gf_dim: int = 128
  condition_dim: int = 128
  r_num: int = 4
  ca: bool = True
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, low, embedding, train: bool = True):
    ngf = self.gf_dim
    encoded_size = low.shape[1] // 4
    if encoded_size < 1 or encoded_size * 4 != low.shape[1]:
      raise ValueError(f"the Stage-II encoder needs a Stage-I size divisible by 4, got "
                       f"{low.shape[1]}")
    blocks = _log2_steps(encoded_size, self.image_size, "Stage-II image size")
    h = Conv(ngf, 3, 1, PAD1, use_bias=False, kernel_init=INIT, dtype=self.dtype)(
        low.astype(self.dtype))
    h = nn.relu(h)
    for features in (ngf * 2, ngf * 4):
      h = Conv(features, 4, 2, PAD1, use_bias=False, kernel_init=INIT, dtype=self.dtype)(h)
      h = nn.relu(batch_norm(train, self.dtype)(h))
    c, mu, logvar = CondAugment(self.condition_dim, self.ca, self.dtype, name="ca")(embedding)
    c = jnp.broadcast_to(c[:, None, None, :].astype(self.dtype),
                         (c.shape[0], encoded_size, encoded_size, c.shape[-1]))
    h = jnp.concatenate([h, c], axis=-1)
    h = Conv(ngf * 4, 3, 1, PAD1, use_bias=False, kernel_init=INIT, dtype=self.dtype)(h)
    h = nn.relu(batch_norm(train, self.dtype)(h))
    for _ in range(self.r_num):
      h = ResBlock(self.dtype)(h, train)
    features = ngf * 4
    for _ in range(blocks):
      features = max(features // 2, 1)
      h = UpBlock(features, self.dtype)(h, train)
    return _to_rgb(h, self.dtype), mu, logvar


class ConditionedLogits(nn.Module):
  """The reference's D_GET_LOGITS with bcondition=True: features + replicated condition."""

  features: int
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, h, condition, train: bool):
    c = jnp.broadcast_to(condition[:, None, None, :].astype(self.dtype),
                         h.shape[:3] + (condition.shape[-1],))
    h = Conv(self.features, 3, 1, PAD1, use_bias=False, kernel_init=INIT, dtype=self.dtype)(
        jnp.concatenate([h, c], axis=-1))
    h = nn.leaky_relu(batch_norm(train, self.dtype)(h), 0.2)
    return Conv(1, 4, 4, "VALID", kernel_init=INIT, dtype=self.dtype)(h).reshape(-1).astype(
        jnp.float32)


class StackGANDiscriminator(nn.Module):
  """(image, condition[, wrong condition]) -> {'cond', ['wrong',] ['uncond']} logits (B,)."""

  df_dim: int = 64
  unconditional_head: bool = False  # Stage-II's
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, image, condition, wrong_condition=None, train: bool = True):
    downs = _log2_steps(4, image.shape[1], "discriminator input size")
    if downs < 1:
      raise ValueError(f"the discriminator needs images of at least 8x8, got {image.shape[1]}")
    h = image.astype(self.dtype)
    features = self.df_dim
    for i in range(downs):
      h = Conv(features, 4, 2, PAD1, use_bias=False, kernel_init=INIT, dtype=self.dtype)(h)
      if i > 0:
        h = batch_norm(train, self.dtype)(h)
      h = nn.leaky_relu(h, 0.2)
      features *= 2
    features //= 2
    while features > self.df_dim * 8:  # the 256x256 Stage-II D: back to 8 Nd at 4x4
      features //= 2
      h = Conv(features, 3, 1, PAD1, use_bias=False, kernel_init=INIT, dtype=self.dtype)(h)
      h = nn.leaky_relu(batch_norm(train, self.dtype)(h), 0.2)
    # The reference's head keeps the width of the 4x4 image features (8 Nd there, after 4 or 6
    # halvings); a 16x16 Stage-I D reaches 4x4 after two, at 2 Nd.
    head = ConditionedLogits(features, self.dtype, name="cond_logits")
    out = {"cond": head(h, condition, train)}
    if wrong_condition is not None:
      out["wrong"] = head(h, wrong_condition, train)
    if self.unconditional_head:
      out["uncond"] = Conv(1, 4, 4, "VALID", kernel_init=INIT, dtype=self.dtype,
                           name="uncond_logits")(h).reshape(-1).astype(jnp.float32)
    return out


def stage_sizes(config, info) -> tuple[int, int]:
  """(Stage-I size, Stage-II size): config.stage1_size and the data's image size."""
  return int(config.stage1_size), int(info.shape[0])


def build(config, info):
  """({'stage1': Stage-I G[, 'stage2': Stage-II G]}, the stage's D)."""
  dtype = compute_dtype(config.compute_dtype)
  g = config.generator
  stage = int(config.stage)
  low, high = stage_sizes(config, info)
  if stage not in (1, 2):
    raise ValueError(f"stage must be 1 or 2, got {stage}")
  generators = {"stage1": Stage1Generator(low, g.gf_dim, config.condition_dim, g.ca, dtype)}
  if stage == 2:
    generators["stage2"] = Stage2Generator(high, g.gf_dim, config.condition_dim, g.r_num, g.ca,
                                           dtype)
  discriminator = StackGANDiscriminator(config.discriminator.df_dim,
                                        unconditional_head=stage == 2, dtype=dtype)
  return generators, discriminator
