"""pix2pix (Isola et al. 2016) colourising 32x32 patches of the two bundled photos.

Grayscale (luma) in, colour out; the held-out bottom quarter of each photo is the test split.
The paper's objective (cGAN + 100 L1, Adam 2e-4, beta1 0.5) and networks (U-Net with dropout,
PatchGAN), with fewer features and a 16x16 PatchGAN to suit the 32x32 patches, sized to train in
a few minutes on a 2-core CPU. The paper's ablation: --config.gan_weight=0 (L1 alone),
--config.l1_weight=0 (cGAN alone). Dropout sits where the paper puts it (the first three decoder
layers, dropout_layers='paper'); the reference code's placement is dropout_layers='code'.
"""

import ml_collections

from jaxgan.config import base_config, optimizer_config


def get_config():
  c = base_config()
  c.paper = "pix2pix"
  c.trainer = "pix2pix"
  c.architecture = "pix2pix"
  c.data.name = "photo_colorization"
  c.data.image_size = 32
  c.data.channels = 3
  c.batch_size = 16
  c.steps = 1500
  c.loss = "non_saturating"
  c.l1_weight = 100.0  # lambda
  c.gan_weight = 1.0
  c.optimizer.g = optimizer_config("adam", lr=2e-4, b1=0.5)
  c.optimizer.d = optimizer_config("adam", lr=2e-4, b1=0.5)
  c.generator = ml_collections.ConfigDict(dict(
      base_features=32, max_multiplier=8, num_downs=0, norm="batch", dropout=0.5,
      dropout_layers="paper",  # the paper's CD512 x 3; 'code': the reference code's layers
      # True: sample as the paper does, dropout on and batch norm from the test batch itself.
      paper_inference=False))
  c.discriminator = ml_collections.ConfigDict(dict(
      receptive_field=16, base_features=32, max_multiplier=8, norm="batch", conditional=True))
  c.augment = ml_collections.ConfigDict(dict(load_size=0, flip=True))
  c.checkpoint_every = 500
  c.sample_every = 500
  c.evals.translation = dict(every=500)
  c.log_every = 100
  return c
