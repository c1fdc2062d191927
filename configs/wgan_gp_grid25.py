"""WGAN-GP (Gulrajani et al. 2017) on grid25: MLP critic without normalisation, gradient
penalty lambda=10 on interpolates, n_critic=5, Adam (1e-4, beta=(0.5, 0.9))."""

from configs import gan_ring8
from jaxgan.config import optimizer_config


def get_config():
  c = gan_ring8.get_config()
  c.paper = "wgan_gp"
  c.data.name = "grid25"
  c.loss = "wasserstein"
  c.gradient_penalty = 10.0
  c.n_critic = 5
  c.discriminator.maxout_pieces = 0  # plain ReLU-family units, as in the paper's toy critic
  c.optimizer.g = optimizer_config("adam", lr=1e-4, b1=0.5, b2=0.9)
  c.optimizer.d = optimizer_config("adam", lr=1e-4, b1=0.5, b2=0.9)
  return c
