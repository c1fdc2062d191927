"""StyleGAN2 (Karras et al. 2019, config F) on the embedded digits at 16x16, 1 channel.

Config F's networks on narrow widths: skip G with weight demodulation, residual D with
minibatch stddev (group 4), non-saturating logistic loss, lazy R1 on reals every 16 D steps
(weight gamma/2), Adam (beta=(0, 0.99), eps 1e-8), EMA of G. Where config F is sized for
1024x1024, the small-resolution settings follow stylegan2-ada-pytorch's train.py, the same
method: its 'auto' config (its default, which sizes batch, gamma and EMA from the resolution)
and, for the regularisers, its 'cifar' config (tuned for CIFAR-10's 32x32 images).

Departures, and why:
- no path-length regularisation and no style mixing, as the 'cifar' config (config F: pl_weight
  2 every 4 G steps, mixing 0.9). Measured side by side at batch 32: FD 0.485 at step 2000
  (217 CPU s) and 0.292 at step 3000 (305 s) against 0.885 (297 s) and 0.409 (433 s) with
  both, and a step 8% cheaper (the path-length phase was 0.028 CPU s every 4 steps) and one
  compiled phase fewer (docs/quality.md). The PPL comparison with path length puts it back:
  --config.g_terms.path_length.weight=2 (config F's; its interval stays 4) and
  --config.generator.mixing_prob=0.9. D keeps config F's residual form (the 'cifar' config: 'orig');
- 16x16 images (the digits are 8x8 originals and the digits classifier reads small images, as
  configs/dcgan_digits.py): 3 resolutions, 6 style layers, a quarter of 32x32's pixels in the
  top block;
- widths: 32 channels at every resolution of G and D (fmap_base 256, fmap_max 32), w_dim and
  mapping width 64, latent 64: to train on a 2-core CPU. 32 everywhere scored better per CPU
  second than 64, 64, 32 (fmap_max 64) side by side: FD 0.88 at step 2000 (297 CPU s) against
  2.09 at step 1000 (282 s), 0.59 at step 2500 (363 s) against 0.88 at step 1500 (366 s).
  Halving the top resolution's (fmap_base 128: 32, 32, 16) made a step about 15% cheaper but
  learned far less per step (FD 2.92 against 0.71 at step 2000 of batch 16);
- batch 16 (the 'auto' config: 32 at this resolution on one GPU): the same FD after the same
  images and CPU (0.279 against 0.292 after 96k images, 315 and 305 CPU s), but reached sooner
  (0.29 after 64k images, 214 s) (docs/quality.md);
- mapping network of 2 layers (lr multiplier 0.01), as the 'auto' and 'cifar' configs (config
  F: 8);
- lr 0.0025 (the 'auto' config below 1024x1024; config F: 0.002);
- gamma 1 (config F: 10 for 1024x1024; the 'auto' heuristic 0.0002 res^2 / batch gives 0.0032
  at this batch, the 'cifar' config 0.01): on two seeds gamma 1 scored FD 0.165 and 0.183 at
  step 6000 against 0.464 and 1.113 with 0.0032, measured on one machine (docs/quality.md,
  "StyleGAN2's gamma"); the low values had scored 0.246 (0.0032) and 0.279 (0.01) on seed 0
  of an earlier machine, where a run of the same command differs (the top of docs/quality.md).
  configs/stylegan_digits.py collapsed at small gammas too;
- EMA half-life 10 kimg with the 'auto' config's ramp-up 0.05: the half-life is at most 5% of
  the images seen (4.8k images at the end here, as the 'auto' config's 5 kimg at batch 16 would
  be). A ramp-up of 0.1 (twice as long an average) scored the same (0.282 against 0.279 at
  step 6000); the average is worth it: the trained G scored 0.473 there;
- 9000 steps of batch 16 (144 kimg): about 380 CPU seconds, evaluations every 1000 steps
  included, the budget of configs/dcgan_digits.py on the same machine (340-380 s); FD 0.165 /
  0.146 / 0.138 at steps 6000 / 8000 / 9000 (docs/quality.md);
- DiffAugment (--config.diffaugment=color,translation,cutout; D's inputs, R1's reals through
  it) was tried and left off: at this length it slowed learning (FD 4.23 / 2.84 / 2.05 against
  3.27 / 0.71 / 0.36 at steps 1000 / 2000 / 3000 of batch 16);
- the critic phase runs before the generator's in a step (official: G main, G reg, D main,
  D reg); as the official code, each network's Adam (shared by its main and lazy phases) runs
  at lr * k/(k+1) and betas ** (k/(k+1)) for its lazy interval k;
- the path-length pass, when on, reads G's tracked w_avg without updating it (the official one
  updates it too: one more batch of the same latents in a 0.995 average);
- sampling and evaluation use each layer's fixed noise buffer (the official generate.py's
  default 'const'; its metrics draw random noise): deterministic, and psi=0 gives one image.
"""

import ml_collections

from jaxgan.config import base_config, optimizer_config


def get_config():
  c = base_config()
  c.paper = "stylegan2"
  c.architecture = "stylegan2"
  c.data.name = "digits"
  c.data.image_size = 16
  c.latent_dim = 64
  c.batch_size = 16
  c.steps = 9000
  c.loss = "non_saturating"
  gamma = 1.0  # measured far better here than the 'auto' heuristic's 0.0032 (the docstring)
  c.d_terms.r1 = dict(weight=gamma / 2, every=16)
  # Off, as the 'cifar' config; weight 2 (config F's) turns it on every 4 G steps.
  c.g_terms.path_length = dict(weight=0.0, every=4)
  c.optimizer.g = optimizer_config("adam", lr=2.5e-3, b1=0.0, b2=0.99, eps=1e-8)
  c.optimizer.d = optimizer_config("adam", lr=2.5e-3, b1=0.0, b2=0.99, eps=1e-8)
  # Half-life 10 kimg at this batch, ramped up over the first 200 kimg (official ema_rampup 0.05).
  c.ema = ml_collections.ConfigDict(dict(decay=0.5 ** (c.batch_size / 10_000), start=0,
                                         rampup=0.05))
  c.generator = ml_collections.ConfigDict(dict(
      w_dim=64, mapping_layers=2, mapping_features=64, mapping_lr_mul=0.01, mixing_prob=0.0,
      truncation_cutoff=None, fmap_base=256, fmap_max=32))
  c.discriminator = ml_collections.ConfigDict(dict(fmap_base=256, fmap_max=32,
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
