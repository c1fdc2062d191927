"""ProGAN (Karras et al. 2017) on the embedded digits, growing 4x4 -> 32x32, 1 channel.

The paper's recipe: equalised learning rate, pixel norm in G, minibatch stddev in D, WGAN-GP
(lambda 10) with the drift term (epsilon 0.001), one D step per G step, Adam (0.001,
beta=(0, 0.99), eps 1e-8), an EMA of G for sampling, each new resolution faded in over as many
images as it then trains stable (the paper: 800k + 800k per stage; the official code 600k + 600k).

Departures, and why:
- 6.4k images faded + 6.4k stable per stage (4 stages, 44.8k images = 1400 steps at batch 32),
  widths fmap_base 512, fmap_max 64 (64, 64, 64, 32 channels at 4 ... 32) and latent 64, to train
  in tens of minutes on a 2-core CPU (still well above dcgan_digits' CPU time: docs/quality.md);
- the EMA of G decays 0.954 per step, not the official 0.999: the official half-life (693 steps
  of 64 images at 32x32) is 3.7% of its 1.2M-image stage, and 0.954 keeps that ratio on these
  12.8k-image stages. (The EMA averages from step 0, so a stage's new blocks enter it at their
  random initial weights: with 0.999 on 40k-image stages they still made 29% of it at the
  stage's end, the 4x4 block 54%, and the samples were grey and blurred.)
- one batch size, 32, at every resolution (`growth.batch_sizes` can shrink it per stage as the
  official code does to fit GPU memory; nothing needs that at 32x32).
See jaxgan/train/progan.py for the trainer's departures.
"""

import ml_collections

from jaxgan.config import base_config, optimizer_config


def get_config():
  c = base_config()
  c.paper = "progan"
  c.trainer = "progan"
  c.architecture = "progan"
  c.data.name = "digits"
  c.data.image_size = 32
  c.latent_dim = 64
  c.batch_size = 32
  c.steps = 1400  # 6.4k images at 4x4, then 12.8k (fade + stable) per stage
  c.loss = "wasserstein"
  c.n_critic = 1
  c.d_terms.gradient_penalty = dict(weight=10.0)
  c.d_terms.drift = dict(weight=1e-3)
  c.optimizer.g = optimizer_config("adam", lr=1e-3, b1=0.0, b2=0.99, eps=1e-8)
  c.optimizer.d = optimizer_config("adam", lr=1e-3, b1=0.0, b2=0.99, eps=1e-8)
  c.ema = ml_collections.ConfigDict(dict(decay=0.954, start=0))  # see above
  c.growth = ml_collections.ConfigDict(dict(fade_kimg=6.4, stable_kimg=6.4, batch_sizes=()))
  c.generator = ml_collections.ConfigDict(dict(fmap_base=512, fmap_max=64))
  c.discriminator = ml_collections.ConfigDict(dict(fmap_base=512, fmap_max=64,
                                                   mbstd_group_size=4))
  c.checkpoint_every = 200
  c.sample_every = 200  # the end of each fade-in and of each stage
  c.evals.digits = dict(every=200)
  c.eval.num_samples = 1000
  c.log_every = 100
  return c
