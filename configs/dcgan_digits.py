"""DCGAN (Radford et al. 2015) with InfoGAN's code, on the embedded digits: the main job.

The paper's architecture rules (strided-conv D, fractionally-strided-conv G, BN in both but G's
output and D's input, ReLU/tanh G, LeakyReLU(0.2) D, no hidden fully connected layer, N(0, 0.02)
init) and optimiser (Adam 2e-4, beta1 0.5), sized to train in minutes on a 2-core CPU.
`paper_config()` draws z of 100 from U[-1, 1] as the paper's code does.
Departures, each measured in docs/quality.md:

- batch 64 (the paper's is 128, measured no better here per image seen, and slower per step);
- 16x16 images (the digits are 8x8 originals, so nothing is lost; G 4->8->16, D 16->8->4) with
  G and D twice as wide as our 32x32 one (base_features 64) and 6000 steps instead of 3000: FD
  0.397 -> 0.268 and KID 0.040 -> 0.016 on 1000 samples, for less CPU time (261 s against 294 s
  of CPU). `paper_config()` keeps the 32x32 one, on which the WGAN configs build.
- 9000 steps (6000 before; InfoGAN's reference MNIST run is 5000 updates of batch 128, 640k
  images to our 576k): with the code below the scores still improve after 6000 steps at
  constant rates; seeds 0, 1, 2 at 6000 -> 9000 (N(0, I) noise, an earlier machine): FD
  0.207 -> 0.130 / 0.257 -> 0.238 / 0.219 -> 0.189, confident samples
  93.6% -> 95.5% / 86.5% -> 87.8% / 85.0% -> 89.8% (docs/quality.md, "Fifth pass").

- z from U[-1, 1] as DCGAN's code and InfoGAN's reference code (its 62 noise values); this job
  drew N(0, I) before: on the plain DCGAN uniform z measured worse (FD 0.277 against 0.268,
  65.8% confident samples against 71.7%); with the code below, side by side on one machine
  on seeds 0, 1, 2 at 9000 steps, FD 0.178 / 0.232 / 0.189 against 0.179 / 0.188 / 0.223
  and 94.0% / 90.9% / 92.2% confident samples against 93.5% / 86.2% / 85.4%; seeds 3 and 4:
  0.166 / 0.150, 94.0% / 89.8% (docs/quality.md, "Sixth pass").

- InfoGAN's 10-way categorical code (Chen et al. 2016) with InfoGAN's MNIST settings: a uniform
  one-hot code after 62 noise values (DCGAN: 100), D's head Q (FC 128, BN, LeakyReLU,
  10 logits) and the mutual-information term (weight 1) in G's and D's losses, G's Adam rate
  1e-3 (D's stays 2e-4). No labels are used: most code values come to draw
  one digit, so few samples fall between two classes (not every value on every seed: on seed 1
  four of ten draw two digits at step 9000, where most unconfident samples are). Plain
  DCGAN on this job: FD 0.270, 66.2% of samples classified with probability >= 0.9; with the
  code and N(0, I) noise at 6000 steps, seeds 0, 1, 2: FD 0.207 / 0.257 / 0.219,
  93.6% / 86.5% / 85.0% (docs/quality.md, "Fourth pass"); the same rates and z without the
  code: 0.364, 70.7%.
  `--config.info_code.categories=0 --config.latent_dim=100 --config.optimizer.g.lr=2e-4
  --config.steps=6000 --config.latent.distribution=normal` is the plain DCGAN measured there.
- Not InfoGAN's 2 continuous codes (`--config.info_code.continuous=2`): on seed 2 they gave
  FD 0.263, 85.2% confident at step 6000 against 0.219, 85.0% without, seven code values of
  ten drawing two digits or more against six (docs/quality.md, "Fifth pass").

Tried on the plain DCGAN and left off, none better in both FD and confident samples at this
length (docs/quality.md): an EMA of G (decay 0.999 from step 2000: FD 0.270 -> 0.301, confident
samples 66.2% -> 67.7%), standing batch-norm statistics (no change: 0.272, 66.7%), linearly
decaying learning rates, D's rate halved (worse), G twice as wide (2.3x the CPU per step, no
better at step 1000), the paper's batch of 128 (no better per image seen), DiffAugment
(color,translation,cutout); then top-k training (--config.top_k.min_fraction=0.5, gamma 0.99
per epoch of 22 steps: FD 0.291, 67.9% confident at step 6000; 0.267, 70.0% at 10000) and
one-sided label smoothing (--config.label_smoothing=0.1: 0.276, 67.7% at 6000), with an EMA of
decay 0.99 from step 3000 on the same run (0.278, 67.4%); then two time-scale rates (D 4e-4,
G 1e-4: 0.337, 65.8%), keeping at sampling time the samples D scores highest or those where G's
Jacobian is smallest (at most 76% confident, from a quarter of the pool), and InfoGAN's code at
DCGAN's rates and z of 100 (0.380, 69.1%: the code did not come to select the digit). With the
code: linearly decaying rates over the last third of 9000 steps (seed 2: FD 0.232, 88.2% against
0.189, 89.8% at constant rates).
"""

import ml_collections

from jaxgan.config import base_config, optimizer_config


def paper_config():
  """The paper's DCGAN at 32x32 (4 feature-map sizes in G and D), 3000 steps of batch 64."""
  c = base_config()
  c.paper = "dcgan"
  c.architecture = "dcgan"
  c.data.name = "digits"
  c.data.image_size = 32
  c.latent_dim = 100
  c.latent.distribution = "uniform"  # DCGAN's code: np_rng.uniform(-1., 1., size=(nbatch, nz))
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


def get_config():
  c = paper_config()
  c.data.image_size = 16
  c.generator.base_features = 64
  c.discriminator.base_features = 64
  c.steps = 9000  # with the code the scores still improve from 6000 to 9000 (see the docstring)
  c.checkpoint_every = 3000
  c.sample_every = 1000
  c.evals.digits.every = 3000
  # InfoGAN's 10-way code with its MNIST settings (see the docstring): each code value comes to
  # draw one digit, so few samples fall between two classes.
  c.info_code.categories = 10
  c.latent_dim = 62
  c.optimizer.g.lr = 1e-3
  return c
