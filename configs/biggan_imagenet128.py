"""BigGAN (Brock et al. 2018) on ImageNet at 128x128, the paper's model.

ch=96: G with multipliers (16, 16, 8, 4, 2, 1) and self-attention at 64x64, z of 120 split in 6
chunks of 20 (hierarchical latents), a 128-d shared class embedding feeding every conditional
BN; D with multipliers (1, 2, 4, 8, 16, 16), attention at 64x64, projection head. Spectral norm
in G and D, orthogonal init, orthogonal regularisation beta=1e-4, hinge loss, batch 2048
(8 micro-batches of 256 accumulated: set grad_accum_steps to what fits your devices), an EMA of
G (decay 0.9999), standing statistics at sampling time.

Optimisation is the paper's (its section 3 and appendix): Adam beta=(0, 0.999), G 5e-5 / D 2e-4
with 2 D steps per G step. (BigGAN-PyTorch's ImageNet launch script trains with G 1e-4 / D 4e-4
and 1 D step instead: --config.optimizer.g.lr=1e-4 --config.optimizer.d.lr=4e-4
--config.n_critic=1 gives that one; the two are not mixed here.) What the paper does not state
comes from BigGAN-PyTorch: Adam's eps 1e-6 and the EMA's start at step 20000. G has 70,433,988
parameters (the paper's 70.4M) and D 87,982,370 (tests/test_biggan.py).

Reading ImageNet needs it prepared for tfds (imagenet2012, manual download) in --config.data.data_dir.
"""

import ml_collections

from jaxgan.config import base_config, optimizer_config


def get_config():
  c = base_config()
  c.paper = "biggan"
  c.architecture = "biggan"
  c.conditional = True
  c.data.name = "tfds:imagenet2012"
  c.data.image_size = 128
  c.data.channels = 3
  c.data.test_split = "validation"
  c.latent_dim = 120
  c.batch_size = 2048
  c.grad_accum_steps = 8
  c.n_critic = 2
  c.steps = 250000
  c.loss = "hinge"
  c.g_terms.ortho_reg = dict(weight=1e-4)
  c.optimizer.g = optimizer_config("adam", lr=5e-5, b1=0.0, b2=0.999, eps=1e-6)
  c.optimizer.d = optimizer_config("adam", lr=2e-4, b1=0.0, b2=0.999, eps=1e-6)
  c.ema = ml_collections.ConfigDict(dict(decay=0.9999, start=20000))
  c.standing_stats = 16
  c.generator = ml_collections.ConfigDict(dict(
      ch=96, channel_multipliers=(16, 16, 8, 4, 2, 1), attention_resolutions=(64,),
      shared_dim=128, hierarchical=True, spectral_norm=True, init="orthogonal"))
  c.discriminator = ml_collections.ConfigDict(dict(
      ch=96, channel_multipliers=(1, 2, 4, 8, 16, 16), downsample=(),
      attention_resolutions=(64,), spectral_norm=True, init="orthogonal"))
  c.checkpoint_every = 2000
  c.sample_every = 2000
  c.evals = ml_collections.ConfigDict()  # no evaluator for this data set yet
  c.log_every = 100
  c.eval.batch_size = 256
  return c
