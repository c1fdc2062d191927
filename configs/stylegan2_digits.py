"""StyleGAN2 (Karras et al. 2019, config F) on the embedded digits at 32x32, 1 channel.

Config F's recipe on narrow networks: mapping network of 8 layers (lr multiplier 0.01), skip G
with weight demodulation, residual D with minibatch stddev (group 4), non-saturating logistic
loss, lazy R1 on reals every 16 D steps (weight gamma/2) and path-length regularisation every
4 G steps (pl_weight 2, the mean decaying with 0.01, on half the batch, its running mean
`pl_mean` in the state's extra), style mixing with probability 0.9, Adam (0.002, beta=(0, 0.99),
eps 1e-8), EMA of G.

Departures, and why:
- widths: fmap_base 256, fmap_max 64 (64, 64, 32, 16 channels at 4 ... 32), w_dim and mapping
  width 64, latent 64, batch 32, 4000 steps: to train in minutes on a 2-core CPU;
- gamma 0.01: R1's gamma scales with the image area; stylegan2-ada-pytorch's heuristic
  0.0002 * res^2 / batch gives 0.0064 at 32x32, batch 32 (config F's 10 is for 1024x1024);
- EMA decay 0.999 per step, a half-life of 22 kimg at batch 32 (config F: 10 kimg, 0.9978;
  stylegan2-ada-pytorch's small-data 'auto' config: 0.9993);
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
  c.data.image_size = 32
  c.latent_dim = 64
  c.batch_size = 32
  c.steps = 4000
  c.loss = "non_saturating"
  gamma = 0.01
  c.d_terms.r1 = dict(weight=gamma / 2, every=16)
  c.g_terms.path_length = dict(weight=2.0, every=4)
  c.optimizer.g = optimizer_config("adam", lr=2e-3, b1=0.0, b2=0.99, eps=1e-8)
  c.optimizer.d = optimizer_config("adam", lr=2e-3, b1=0.0, b2=0.99, eps=1e-8)
  c.ema = ml_collections.ConfigDict(dict(decay=0.999, start=0))
  c.generator = ml_collections.ConfigDict(dict(
      w_dim=64, mapping_layers=8, mapping_features=64, mapping_lr_mul=0.01, mixing_prob=0.9,
      truncation_cutoff=None, fmap_base=256, fmap_max=64))
  c.discriminator = ml_collections.ConfigDict(dict(fmap_base=256, fmap_max=64,
                                                   mbstd_group_size=4))
  c.checkpoint_every = 1000
  c.sample_every = 500
  c.evals.digits = dict(every=1000)
  # Perceptual path length in W (the digits classifier's features as the distance), at the end.
  c.evals.ppl_w_full = dict(type="ppl", space="w", sampling="full", every=0, num_samples=2000)
  c.evals.ppl_w_end = dict(type="ppl", space="w", sampling="end", every=0, num_samples=2000)
  c.eval.num_samples = 1000
  c.log_every = 100
  return c
