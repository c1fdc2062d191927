"""StyleGAN2 (Karras et al. 2019, config F) on the embedded digits at 16x16, 1 channel.

Config F's recipe on narrow networks: skip G with weight demodulation, residual D with
minibatch stddev (group 4), non-saturating logistic loss, lazy R1 on reals every 16 D steps
(weight gamma/2) and path-length regularisation every 4 G steps (pl_weight 2, the mean decaying
with 0.01, on half the batch, its running mean `pl_mean` in the state's extra), style mixing
with probability 0.9, Adam (beta=(0, 0.99), eps 1e-8), EMA of G. Where config F is sized for
1024x1024, the small-resolution settings follow stylegan2-ada-pytorch's train.py 'auto' config
(its choice for a dataset of this size), which is the same method.

Departures, and why:
- 16x16 images (the digits are 8x8 originals and the digits classifier reads small images, as
  configs/dcgan_digits.py): 3 resolutions, 6 style layers, a quarter of 32x32's pixels in the
  top block;
- widths: 32 channels at every resolution of G and D (fmap_base 256, fmap_max 32), w_dim and
  mapping width 64, latent 64: to train on a 2-core CPU. 32 everywhere scored better per CPU
  second than 64, 64, 32 (fmap_max 64) side by side: FD 0.88 at step 2000 (297 CPU s) against
  2.09 at step 1000 (282 s), 0.59 at step 2500 (363 s) against 0.88 at step 1500 (366 s); per
  step the narrow networks learn less (FD 7.9 against 4.0 at step 500) but cost about 0.12
  against 0.18 CPU s, evaluations included (docs/quality.md);
- mapping network of 2 layers (lr multiplier 0.01), as the 'auto' and 'cifar' configs (config
  F: 8);
- lr 0.0025 (the 'auto' config below 1024x1024; config F: 0.002);
- EMA half-life 10 kimg with the 'auto' config's ramp-up 0.05 (the half-life is at most 5% of
  the images seen, so the average drops the first generators quickly; a fixed 0.999 per step,
  a 22 kimg half-life, would average over a quarter of this 96 kimg run);
- gamma 0.01 (the 'cifar' config's, at 32x32; the 'auto' heuristic 0.0002 res^2 / batch gives
  0.0016 here; config F's 10 is for 1024x1024);
- 3000 steps of batch 32 (96 kimg): about 430 CPU seconds on this machine, evaluations every
  500 steps included (docs/quality.md has FD against CPU seconds along the run);
- the critic phase runs before the generator's in a step (official: G main, G reg, D main,
  D reg); as the official code, each network's Adam (shared by its main and lazy phases) runs
  at lr * k/(k+1) and betas ** (k/(k+1)) for its lazy interval k;
- the path-length pass reads G's tracked w_avg without updating it (the official one updates
  it too: one more batch of the same latents in a 0.995 average);
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
  c.batch_size = 32
  c.steps = 3000
  c.loss = "non_saturating"
  gamma = 0.01
  c.d_terms.r1 = dict(weight=gamma / 2, every=16)
  c.g_terms.path_length = dict(weight=2.0, every=4)
  c.optimizer.g = optimizer_config("adam", lr=2.5e-3, b1=0.0, b2=0.99, eps=1e-8)
  c.optimizer.d = optimizer_config("adam", lr=2.5e-3, b1=0.0, b2=0.99, eps=1e-8)
  # Half-life 10 kimg at batch 32, ramped up over the first 200 kimg (official ema_rampup 0.05).
  c.ema = ml_collections.ConfigDict(dict(decay=0.5 ** (32 / 10_000), start=0, rampup=0.05))
  c.generator = ml_collections.ConfigDict(dict(
      w_dim=64, mapping_layers=2, mapping_features=64, mapping_lr_mul=0.01, mixing_prob=0.9,
      truncation_cutoff=None, fmap_base=256, fmap_max=32))
  c.discriminator = ml_collections.ConfigDict(dict(fmap_base=256, fmap_max=32,
                                                   mbstd_group_size=4))
  c.checkpoint_every = 1000
  c.sample_every = 1000
  c.evals.digits = dict(every=500)
  # Perceptual path length in W (the digits classifier's features as the distance), at the end.
  c.evals.ppl_w_full = dict(type="ppl", space="w", sampling="full", every=0, num_samples=2000)
  c.evals.ppl_w_end = dict(type="ppl", space="w", sampling="end", every=0, num_samples=2000)
  c.eval.num_samples = 1000
  c.log_every = 100
  return c
