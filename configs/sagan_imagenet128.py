"""SAGAN (Zhang et al. 2018) on ImageNet at 128x128, the paper's model.

As the paper and its official code: G with ch=64 (4x4x1024 after the input layer, then
1024, 512, 256, 128, 64 channels) and self-attention at 32x32, class-conditional BN; D with
ch=64 (64 ... 1024 channels, six residual blocks, the last without downsampling), attention at
32x32, projection head; spectral norm in both, z of 128, hinge loss, TTUR G 1e-4 / D 4e-4,
Adam beta=(0, 0.9), one D step per G step, batch 256 (the paper's). G has 42.1M parameters and D
39.5M with 1000 classes (tests/test_biggan.py).

Reading ImageNet needs it prepared for tfds (imagenet2012, manual download) in --config.data.data_dir.
"""

import ml_collections

from jaxgan.config import base_config, optimizer_config


def get_config():
  c = base_config()
  c.paper = "sagan"
  c.architecture = "sagan"
  c.conditional = True
  c.data.name = "tfds:imagenet2012"
  c.data.image_size = 128
  c.data.channels = 3
  c.data.test_split = "validation"
  c.latent_dim = 128
  c.batch_size = 256
  c.n_critic = 1
  c.steps = 1000000
  c.loss = "hinge"
  c.optimizer.g = optimizer_config("adam", lr=1e-4, b1=0.0, b2=0.9)
  c.optimizer.d = optimizer_config("adam", lr=4e-4, b1=0.0, b2=0.9)
  c.generator = ml_collections.ConfigDict(dict(
      ch=64, channel_multipliers=(16, 16, 8, 4, 2, 1), attention_resolutions=(32,),
      spectral_norm=True, init="glorot"))
  c.discriminator = ml_collections.ConfigDict(dict(
      ch=64, channel_multipliers=(1, 2, 4, 8, 16, 16), downsample=(),
      attention_resolutions=(32,), spectral_norm=True, init="glorot"))
  c.checkpoint_every = 5000
  c.sample_every = 5000
  c.evals = ml_collections.ConfigDict()  # no evaluator for this data set yet
  c.log_every = 100
  c.sample_grid = 8
  return c
