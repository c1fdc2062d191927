"""CoGAN (Liu & Tuzel 2016) on MNIST and its negatives (the paper's first experiment), from
tfds mnist, with the paper's networks and solver (its Caffe model, mnist.edge.cogan in the
authors' code; jaxgan/models/cogan.py lists the layers).

G: z of 100 from U[-1, 1] -> dense to 4x4x1024 -> deconvolutions to 7x7x512, 13x13x256,
25x25x128 (batch norm, PReLU), all shared -> each domain's own deconvolution to 28x28. D: each
domain's own 5x5 convolution to 20 maps, then shared: max pool, 5x5 convolution to 50, max
pool, dense 500, PReLU, dropout 0.5, the logit; no batch norm. Adam 2e-4, beta=(0.5, 0.999),
weight decay 5e-4 on the weights, batch 128, non-saturating G loss.

Prepare it once: tfds build mnist --file_format=array_record. Domain A is the first half of the
train split, domain B the negatives of the second half (the paper's MNIST task pairs digits
with their negatives or edges; this is the negatives one), at MNIST's own 28x28.

Departures: a tanh output on [-1, 1] pixels where the Caffe model has a sigmoid on [0, 1] (the
same family); batch-norm running averages with momentum 0.9 (the authors' PyTorch port's) where
Caffe keeps 0.999; 25000 updates where the Caffe solver runs up to 50000.
"""

import ml_collections

from configs import cogan_digits


def get_config():
  c = cogan_digits.get_config()
  c.architecture = "cogan_paper"
  c.data.name = "tfds:mnist"
  c.data.domain_b = "negative"
  c.data.image_size = 28
  c.data.channels = 1
  c.data.fit = "resize"
  c.latent.distribution = "uniform"  # the Caffe model's RandomNoise: UNIFORM in [-1, 1]
  for side in ("g", "d"):
    c.optimizer[side].weight_decay = 5e-4
  c.generator = ml_collections.ConfigDict(dict(features=(1024, 512, 256, 128)))
  c.discriminator = ml_collections.ConfigDict(dict(features=(20, 50, 500), dropout=0.5))
  c.batch_size = 128
  c.steps = 25000
  c.evals = ml_collections.ConfigDict()  # no evaluator for this data set yet
  c.sample_every = 1000
  c.checkpoint_every = 2500
  return c
