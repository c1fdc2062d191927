"""pix2pix on CMP Facades (labels -> photos), the paper's set-up.

Data: the pix2pix release's facades folder (train/ val/ test/ of 512x256 A|B images, A the
photo, B the label map), so direction BtoA; point data.path at it:
  jaxgan train --config configs/pix2pix_facades.py --workdir runs/facades \
      --config.data.path=/path/to/facades
256x256, batch 1, 200 epochs of 400 images, random jitter (resize to 286, random 256 crop,
mirroring), 70x70 PatchGAN, batch norm, samples drawn as the paper does; dropout in the first
three decoder layers as the paper says (dropout_layers='paper'; 'code' puts it where the
reference code does, the three after the first).
"""

from configs import pix2pix_photos


def get_config():
  c = pix2pix_photos.get_config()
  c.data.name = "folder"
  c.data.path = "~/data/facades"
  c.data.layout = "side_by_side"
  c.data.direction = "BtoA"
  c.data.image_size = 256
  c.data.channels = 3
  c.data.fit = "resize"
  c.batch_size = 1
  c.steps = 200 * 400
  c.generator.base_features = 64
  c.generator.paper_inference = True
  c.discriminator.base_features = 64
  c.discriminator.receptive_field = 70
  c.augment.load_size = 286
  c.augment.flip = True
  c.checkpoint_every = 4000
  c.sample_every = 2000
  c.evals.translation = dict(every=0)
  c.eval.batch_size = 16
  c.log_every = 100
  return c
