"""StyleGAN (Karras et al. 2018) on the embedded digits at 16x16, 1 channel, at the final
resolution directly (the paper's progressive growing is optional; the default here).

The paper's networks on narrow widths: mapping network of 8 layers (lr multiplier 0.01), a
learned constant input, AdaIN and per-layer noise, style mixing with probability 0.9, ProGAN's D
with blur and minibatch stddev (group 4), non-saturating logistic loss with R1 on reals
(weight gamma/2; every step in the paper, lazily here: below), Adam (0.001, beta=(0, 0.99), eps
1e-8), EMA of G with a 10 kimg half-life (the official G_smoothing_kimg; 0.5 ** (32 / 10000)
per step at batch 32).

Departures, and why:
- 16x16 images (the digits are 8x8 originals and the digits classifier reads small images, as
  configs/dcgan_digits.py): 3 resolutions, 6 style layers (truncation_cutoff 8 covers all);
- widths: fmap_base 256, fmap_max 64 (64, 64, 32 channels at 4, 8, 16), w_dim and mapping width
  64, latent 64, batch 32: to train on a 2-core CPU (32 everywhere, as
  configs/stylegan2_digits.py, stalled near FD 10 up to step 1500: docs/quality.md); batch 16,
  which paid for configs/stylegan2_digits.py, did not here: FD 4.38 / 7.02 / 8.55 at steps
  500 / 1000 / 1500 (IS 4.45 -> 2.20), stopped (docs/quality.md);
- gamma 1 (the paper's 10 is for 1024x1024 FFHQ): with 0.01, the value scaled down by the
  image area as configs/stylegan2_digits.py, the trained G collapsed onto nearly one shape
  between steps 500 and 1000 (FD 4.61 -> 14.3, IS 3.54 -> 1.30) while R1's |grad|^2 on reals
  grew twenty-fold; with gamma 1 the trained G scored FD 3.53 (IS 4.51) at step 500 and the
  run's EMA FD 2.92 (IS 5.19) at step 1000, no collapse; gamma 0.1 (lazy R1) went the way of
  0.01: FD 4.80 then 8.81 at steps 500 and 1000 (docs/quality.md);
- the EMA ramp-up of StyleGAN2-ADA (ema.rampup 0.05: the half-life at most 5% of the images
  seen): without it the average still holds a third of the initial weights at step 500 (32
  kimg is 0.1% of the paper's 25 M images), and scored worse than the trained G there (FD 5.72
  against 4.61);
- R1 lazily every 16 D steps (StyleGAN2's lazy regularisation, its weight times 16 and D's Adam
  at lr * 16/17, betas ** (16/17)) instead of every step: the same FD at steps 500, 1000, 1500
  (3.36, 2.91, 2.16 against 3.39, 2.92, 2.16) for a step about a fifth cheaper (0.169 against
  0.210 CPU s; docs/quality.md);
- 1500 steps of batch 32 (48 kimg): about 300 CPU seconds on this machine, the budget of
  configs/dcgan_digits.py;
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
  c.batch_size = 32
  c.steps = 1500
  c.loss = "non_saturating"
  gamma = 1.0
  c.d_terms.r1 = dict(weight=gamma / 2, every=16)  # lazy, as StyleGAN2 (the docstring)
  c.optimizer.g = optimizer_config("adam", lr=1e-3, b1=0.0, b2=0.99, eps=1e-8)
  c.optimizer.d = optimizer_config("adam", lr=1e-3, b1=0.0, b2=0.99, eps=1e-8)
  # Half-life 10 kimg at batch 32, ramped up as StyleGAN2-ADA (ema_rampup 0.05).
  c.ema = ml_collections.ConfigDict(dict(decay=0.5 ** (32 / 10_000), start=0, rampup=0.05))
  c.generator = ml_collections.ConfigDict(dict(
      w_dim=64, mapping_layers=8, mapping_features=64, mapping_lr_mul=0.01, mixing_prob=0.9,
      truncation_cutoff=8, fmap_base=256, fmap_max=64))
  c.discriminator = ml_collections.ConfigDict(dict(fmap_base=256, fmap_max=64,
                                                   mbstd_group_size=4))
  c.checkpoint_every = 500
  c.sample_every = 500
  c.evals.digits = dict(every=500)
  # Perceptual path length in W (the digits classifier's features as the distance), at the end.
  c.evals.ppl_w_full = dict(type="ppl", space="w", sampling="full", every=0, num_samples=2000)
  c.evals.ppl_w_end = dict(type="ppl", space="w", sampling="end", every=0, num_samples=2000)
  c.eval.num_samples = 1000
  c.log_every = 100
  return c
