"""StackGAN (Zhang et al. 2017) on CUB birds: Stage-I 64x64 -> Stage-II 256x256, the paper's.

data.path: the folder of the published StackGAN files (jaxgan/data/stackgan_files.py). Two
commands, one per stage (see jaxgan/train/stackgan.py):

    jaxgan train --config configs/stackgan_cub.py --workdir W/stage1 --config.stage=1 \
        --config.data.path=DATA --config.data.image_size=64
    jaxgan train --config configs/stackgan_cub.py --workdir W --config.stage=2 \
        --config.data.path=DATA

The reference code's networks and sizes (hanzhanggit/StackGAN-Pytorch code/miscc/config.py:
GF_DIM 128, DF_DIM 64, CONDITION_DIM 128, R_NUM 4, Z_DIM 100, KL 2.0, Adam 2e-4 beta1 0.5) and
the paper's schedule: batch 64, 600 epochs per stage, learning rate halved every 100 epochs. An
epoch is one pass over CUB's 8855 training images (one random caption each): 138 steps of 64, so
600 epochs = 83 000 steps and 100 epochs = 13 800 steps.

Departures: the engine's stream draws (image, caption) pairs without replacement over all 10
captions of every image (an "epoch" above counts images, as the reference's); the wrong text is
the batch's conditions rolled by one (the reference drops the last pair instead). Stage-I can
read the 256 crops area-downscaled to 64 (data.image_size=256, the default here) or, as the
reference does and much faster, crops at 64 (--config.data.image_size=64 for the Stage-I run).
"""

import ml_collections

from jaxgan.config import base_config, optimizer_config

STEPS_PER_EPOCH = 8855 // 64


def get_config():
  c = base_config()
  c.paper = "stackgan"
  c.trainer = "stackgan"
  c.architecture = "stackgan"
  c.stage = 1
  c.stage1_size = 64
  c.stage1_workdir = ""
  c.condition_dim = 128
  c.kl_weight = 2.0
  c.latent_dim = 100
  c.data.name = "stackgan_cub"
  c.data.path = ""
  c.data.image_size = 256
  c.data.channels = 3
  c.batch_size = 64
  c.steps = 600 * STEPS_PER_EPOCH
  c.loss = "non_saturating"
  decay = 100 * STEPS_PER_EPOCH
  c.optimizer.g = optimizer_config("adam", lr=2e-4, b1=0.5, lr_decay="step", decay_every=decay,
                                   decay_factor=0.5)
  c.optimizer.d = optimizer_config("adam", lr=2e-4, b1=0.5, lr_decay="step", decay_every=decay,
                                   decay_factor=0.5)
  c.generator = ml_collections.ConfigDict(dict(gf_dim=128, r_num=4, ca=True))
  c.discriminator = ml_collections.ConfigDict(dict(df_dim=64))
  c.checkpoint_every = 5 * STEPS_PER_EPOCH
  c.sample_every = 5 * STEPS_PER_EPOCH
  c.log_every = 100
  c.eval = ml_collections.ConfigDict(dict(num_samples=64, batch_size=64))
  return c
