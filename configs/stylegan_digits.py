"""StyleGAN (Karras et al. 2018) on the embedded digits at 16x16, 1 channel, at the final
resolution directly (the paper's progressive growing is optional; the default here).

The paper's networks on narrow widths: mapping network of 8 layers (lr multiplier 0.01), a
learned constant input, AdaIN and per-layer noise, ProGAN's D with blur and minibatch stddev
(group 4), non-saturating logistic loss with R1 on reals, gamma 10 (weight gamma/2; every step
in the paper, lazily here: below), Adam (0.001, beta=(0, 0.99), eps 1e-8), EMA of G with a 10
kimg half-life (the official G_smoothing_kimg; 0.5 ** (16 / 10000) per step at batch 16).

Departures, and why (measured one run at a time on a 2-core CPU shared with other jobs;
docs/quality.md has the tables):
- no style mixing regularisation (the paper: probability 0.9), as stylegan2-ada-pytorch's
  small-data 'cifar' config and configs/stylegan2_digits.py: at batch 32 and gamma 1, FD 2.32 /
  1.63 / 0.748 / 0.645 at steps 500 / 1000 / 1500 / 2000 against 3.36 / 2.91 / 2.16 with it
  (1500 steps, 304 CPU s); on the config now, FD 0.324 at step 7000 with it against 0.147.
  The PPL comparison puts it back: --config.generator.mixing_prob=0.9;
- batch 16 (the official schedule: 128 while at 16x16, 32 at 64x64 and up): with mixing off,
  FD 0.291 at step 4000 (256 CPU s) and 0.153 at step 6600 (408 s) against batch 32's 0.680 at
  step 2000 (267 s) and 0.316 at step 3300 (445 s): about the same FD per step for half the CPU.
  With mixing on, batch 16 at gamma 1 had collapsed: FD 4.38 / 7.02 / 8.55 at steps 500 / 1000
  / 1500 (at gamma 10 it did not: 0.324 at step 7000);
- 16x16 images (the digits are 8x8 originals and the digits classifier reads small images, as
  configs/dcgan_digits.py): 3 resolutions, 6 style layers (truncation_cutoff 8 covers all);
- widths: fmap_base 256, fmap_max 64 (64, 64, 32 channels at 4, 8, 16), w_dim and mapping width
  64, latent 64: to train on a 2-core CPU (32 everywhere, as configs/stylegan2_digits.py,
  stalled near FD 10 up to step 1500 with mixing on and R1 every step: docs/quality.md);
- gamma: the paper's 10 (for 1024x1024 FFHQ) kept. With mixing on at batch 32 it scored as
  gamma 1 (FD 2.73 / 2.96 / 2.18 at steps 500 / 1000 / 1500 against 3.36 / 2.91 / 2.16), and
  smaller ones collapsed: 0.01 (the value scaled down by the image area, as
  configs/stylegan2_digits.py; FD 4.61 -> 14.3 between steps 500 and 1000, IS 3.54 -> 1.30,
  while R1's |grad|^2 on reals grew twenty-fold) and 0.1 (FD 4.80 then 8.81);
- the EMA ramp-up of StyleGAN2-ADA (ema.rampup 0.05: the half-life at most 5% of the images
  seen): without it the average still holds a third of the initial weights at step 500 of
  batch 32 (16 kimg, 0.06% of the paper's 25 M images), and scored worse than the trained G
  there (FD 5.72 against 4.61);
- R1 lazily every 16 D steps (StyleGAN2's lazy regularisation, its weight times 16 and D's Adam
  at lr * 16/17, betas ** (16/17)) instead of every step: the same FD at steps 500, 1000, 1500
  (3.36, 2.91, 2.16 against 3.39, 2.92, 2.16, batch 32, gamma 1, mixing on) for a step about a
  fifth cheaper (0.169 against 0.210 CPU s);
- 7000 steps of batch 16 (112 kimg): 391-450 CPU seconds, evaluations every 1000 steps and the
  PPL at the end included, FD 0.147 / 0.144 / 0.166 on seeds 0 / 1 / 2; configs/dcgan_digits.py
  took 339-381 s on the same machine (FD 0.178 / 0.232 / 0.189), so this is 10-20% over its
  budget; at step 6000, within it, 0.177 / 0.168 / 0.234 (docs/quality.md);
- no progressive growing, and one learning rate (the official schedule raises it per
  resolution while growing);
- sampling and evaluation use each layer's fixed noise buffer (the official generate.py's
  default 'const'; its metrics draw random noise): deterministic, and psi=0 gives one image.
"""

import ml_collections

from jaxgan.config import base_config, optimizer_config


def get_config():
  c = base_config()
  c.paper = "stylegan"
  c.architecture = "stylegan"
  c.data.name = "digits"
  c.data.image_size = 16
  c.latent_dim = 64
  c.batch_size = 16
  c.steps = 7000
  c.loss = "non_saturating"
  gamma = 10.0
  c.d_terms.r1 = dict(weight=gamma / 2, every=16)  # lazy, as StyleGAN2 (the docstring)
  c.optimizer.g = optimizer_config("adam", lr=1e-3, b1=0.0, b2=0.99, eps=1e-8)
  c.optimizer.d = optimizer_config("adam", lr=1e-3, b1=0.0, b2=0.99, eps=1e-8)
  # Half-life 10 kimg at this batch, ramped up as StyleGAN2-ADA (ema_rampup 0.05).
  c.ema = ml_collections.ConfigDict(dict(decay=0.5 ** (c.batch_size / 10_000), start=0,
                                         rampup=0.05))
  c.generator = ml_collections.ConfigDict(dict(
      w_dim=64, mapping_layers=8, mapping_features=64, mapping_lr_mul=0.01, mixing_prob=0.0,
      truncation_cutoff=8, fmap_base=256, fmap_max=64))
  c.discriminator = ml_collections.ConfigDict(dict(fmap_base=256, fmap_max=64,
                                                   mbstd_group_size=4))
  c.checkpoint_every = 1000
  c.sample_every = 1000
  c.evals.digits = dict(every=1000)
  # Perceptual path length in W (the digits classifier's features as the distance), at the end.
  c.evals.ppl_w_full = dict(type="ppl", space="w", sampling="full", every=0, num_samples=2000)
  c.evals.ppl_w_end = dict(type="ppl", space="w", sampling="end", every=0, num_samples=2000)
  c.eval.num_samples = 1000
  c.log_every = 100
  return c
