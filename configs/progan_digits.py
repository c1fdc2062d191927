"""ProGAN (Karras et al. 2017) on the embedded digits, growing 4x4 -> 16x16, 1 channel.

The paper's recipe: equalised learning rate, pixel norm in G, minibatch stddev in D, WGAN-GP
(lambda 10) with the drift term (epsilon 0.001), one D step per G step, Adam (beta=(0, 0.99),
eps 1e-8), an EMA of G for sampling, each new resolution faded in over as many
images as it then trains stable (the paper: 800k + 800k per stage; the official code 600k + 600k).

Departures, and why (docs/quality.md, "ProGAN on digits"):
- 16x16 final resolution, not 32x32: the digits are 8x8 originals and the digits classifier
  reads small images, as for dcgan_digits and the style configs; three stages (4, 8, 16);
- 6.4k images faded + 6.4k stable per stage, the 16x16 stage then stable to the end (8000 steps
  of batch 16: 128k images), widths fmap_max 32 at every resolution, latent 64, batch 16 (the
  official code's at 1024x1024), to fit dcgan_digits' CPU budget on a 2-core CPU: at 64
  channels a step cost 3.7 times as much CPU for no better FD per CPU second, and batch
  16 reached a lower FD than batch 32 in the same CPU time (docs/quality.md);
- the EMA of G decays 0.988 per step, not the official 0.999: it averages from step 0, so a
  stage's new blocks enter it at their random initial weights, and 0.999 on stages this short
  left them a visible share at the stage's end (29% with the 1250-step stages of an earlier
  schedule: grey, blurred samples); 0.988 leaves under 1% after the 400 steps of the 4x4 stage
  (tests/test_progan_train.py);
- Adam's rate 0.0015 for G and D, not the paper's 0.001: the official code's presets raise it to
  0.0015-0.003 where their batch is 16 or smaller (sched.G_lrate_dict of its -preset-v2 lines;
  the 1-GPU preset's 1024x1024 at batch 4: 0.0015). On seeds 0 / 1 / 2 at step 8000: FD 0.161 /
  0.188 / 0.185 against 0.251 / 0.319 / 0.238 at 0.001 (0.002: 0.178 / 0.171 on seeds 0 / 1);
- one batch size at every resolution (`growth.batch_sizes` can shrink it per stage as the
  official code does to fit GPU memory; nothing needs that at 16x16).
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
  c.data.image_size = 16
  c.latent_dim = 64
  c.batch_size = 16
  c.steps = 8000  # 400 steps at 4x4, 800 at 8x8, then 16x16 to the end
  c.loss = "wasserstein"
  c.n_critic = 1
  c.d_terms.gradient_penalty = dict(weight=10.0)
  c.d_terms.drift = dict(weight=1e-3)
  c.optimizer.g = optimizer_config("adam", lr=1.5e-3, b1=0.0, b2=0.99, eps=1e-8)  # see above
  c.optimizer.d = optimizer_config("adam", lr=1.5e-3, b1=0.0, b2=0.99, eps=1e-8)
  c.ema = ml_collections.ConfigDict(dict(decay=0.988, start=0))  # see above
  c.growth = ml_collections.ConfigDict(dict(fade_kimg=6.4, stable_kimg=6.4, batch_sizes=()))
  c.generator = ml_collections.ConfigDict(dict(fmap_base=512, fmap_max=32))
  c.discriminator = ml_collections.ConfigDict(dict(fmap_base=512, fmap_max=32,
                                                   mbstd_group_size=4))
  c.checkpoint_every = 2000
  c.sample_every = 400  # the end of 4x4, of each fade-in and of 8x8
  c.evals.digits = dict(every=2000)
  c.eval.num_samples = 1000
  c.log_every = 100
  return c
