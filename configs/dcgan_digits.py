"""DCGAN (Radford et al. 2015) on the embedded digits at 32x32: the main job.

The paper's architecture and optimiser (Adam 2e-4, beta1 0.5, batch 128 in the paper, 64 here),
sized down so the run finishes in minutes on a 2-core CPU.
"""

import ml_collections

from jaxgan.config import base_config, optimizer_config


def get_config():
  c = base_config()
  c.paper = "dcgan"
  c.architecture = "dcgan"
  c.data.name = "digits"
  c.data.image_size = 32
  c.latent_dim = 100
  c.batch_size = 64
  c.steps = 3000
  c.loss = "non_saturating"
  c.optimizer.g = optimizer_config("adam", lr=2e-4, b1=0.5)
  c.optimizer.d = optimizer_config("adam", lr=2e-4, b1=0.5)
  c.generator = ml_collections.ConfigDict(dict(base_features=32, norm="batch"))
  c.discriminator = ml_collections.ConfigDict(dict(base_features=32, norm="batch"))
  c.checkpoint_every = 1000
  c.sample_every = 500
  c.evals.digits = dict(every=1000)
  c.eval.num_samples = 1000
  c.log_every = 100
  return c
