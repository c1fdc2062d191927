"""WGAN (Arjovsky et al. 2017) on the embedded digits: DCGAN networks, weight clipping to
[-0.01, 0.01], RMSProp at 5e-5 as the reference code runs it (PyTorch's RMSprop: decay 0.99,
eps 1e-8 outside the square root), batch 64, N(0, 1) latents as the reference code draws them.

The critic schedule is the reference code's: 100 critic iterations for the first 25 generator
iterations and every 500th, n_critic = 5 otherwise.

Departure: the DCGAN networks are our 32x32 digits DCGAN's (`dcgan_digits.paper_config()`,
base width 32) and training is 1500 generator steps, sized for a 2-core CPU (the paper trains
for 10^5 and more).
"""

from configs import dcgan_digits
from jaxgan.config import optimizer_config


def get_config():
  c = dcgan_digits.paper_config()
  c.paper = "wgan"
  c.loss = "wasserstein"
  c.latent.distribution = "normal"
  c.clip_value = 0.01
  c.n_critic = 5
  c.critic_boost.iterations = 100
  c.critic_boost.first = 25
  c.critic_boost.every = 500
  c.optimizer.g = optimizer_config("rmsprop", lr=5e-5, decay=0.99, eps=1e-8)
  c.optimizer.d = optimizer_config("rmsprop", lr=5e-5, decay=0.99, eps=1e-8)
  c.steps = 1500
  c.evals.digits.every = 150  # the curve of docs/quality.md: the estimate against sample quality
  c.sample_every = 500
  return c
