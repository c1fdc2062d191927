"""CycleGAN on horse2zebra, the paper's set-up, from tfds `cycle_gan/horse2zebra`.

Prepare it once (needs TensorFlow and network):
  tfds build cycle_gan/horse2zebra --file_format=array_record
256x256, batch 1, 9-block ResNet generators, 70x70 PatchGANs, instance norm, random jitter
(resize to 286, random 256 crop, mirroring), 100 epochs at lr 2e-4 then 100 decaying to 0; an
epoch is max(|A|, |B|) = 1334 images.
"""

from configs import cyclegan_digits


def get_config():
  c = cyclegan_digits.get_config()
  c.data.name = "tfds:cycle_gan/horse2zebra"
  c.data.domain_b = "split"
  c.data.train_split, c.data.train_split_b = "trainA", "trainB"
  c.data.test_split, c.data.test_split_b = "testA", "testB"
  c.data.image_size = 256
  c.data.channels = 3
  c.data.fit = "resize"
  c.batch_size = 1
  c.steps = 200 * 1334
  c.generator.base_features = 64
  c.generator.num_blocks = 9
  c.discriminator.base_features = 64
  c.discriminator.receptive_field = 70
  c.augment.load_size = 286
  c.augment.flip = True
  c.identity_weight = 0.5
  c.checkpoint_every = 5000
  c.sample_every = 2000
  c.evals.cycle = dict(every=0)
  c.eval.num_samples = 120
  c.eval.batch_size = 8
  c.log_every = 100
  return c
