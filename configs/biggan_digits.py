"""BigGAN (Brock et al. 2018) on the embedded digits at 16x16, class-conditional.

The embedded digits are 8x8 originals, so 16x16 loses nothing; BigGAN's small-image architecture
(G channel multipliers 4 throughout, D likewise, downsampling twice) at 16x16 and narrowed to
ch=8, so it trains in minutes on a 2-core CPU, with self-attention at 8x8 in G and D.
Everything else is the paper's: shared class embedding, hierarchical latents (z of 96 in 3
chunks of 32), conditional BN, projection D, spectral norm in G and D, orthogonal init and
orthogonal regularisation (beta 1e-4), hinge loss, 2 D steps per G step, Adam beta=(0, 0.999)
with the paper's TTUR ratio (D 4x G; both scaled up here for the short run), an EMA of G that
starts late, standing statistics at sampling time.
"""

import ml_collections

from jaxgan.config import base_config, optimizer_config


def get_config():
  c = base_config()
  c.paper = "biggan"
  c.architecture = "biggan"
  c.conditional = True
  c.data.name = "digits"
  c.data.image_size = 16
  c.latent_dim = 96
  c.batch_size = 64
  c.n_critic = 2
  c.steps = 1500
  c.loss = "hinge"
  c.g_terms.ortho_reg = dict(weight=1e-4)
  c.optimizer.g = optimizer_config("adam", lr=2e-4, b1=0.0, b2=0.999, eps=1e-6)
  c.optimizer.d = optimizer_config("adam", lr=8e-4, b1=0.0, b2=0.999, eps=1e-6)
  # The paper averages over ~10k of 200k+ steps (decay 0.9999 from step 20k); scaled to this
  # short run: a ~100-step window over the last third.
  c.ema = ml_collections.ConfigDict(dict(decay=0.99, start=1000))
  c.standing_stats = 16
  c.generator = ml_collections.ConfigDict(dict(
      ch=8, channel_multipliers=(4, 4, 4), attention_resolutions=(8,), shared_dim=32,
      hierarchical=True, spectral_norm=True, init="orthogonal"))
  c.discriminator = ml_collections.ConfigDict(dict(
      ch=8, channel_multipliers=(4, 4, 4), downsample=(True, True, False),
      attention_resolutions=(8,), spectral_norm=True, init="orthogonal"))
  c.checkpoint_every = 750
  c.sample_every = 500
  c.evals.digits = dict(every=0)
  c.eval.num_samples = 1000
  c.log_every = 100
  return c
