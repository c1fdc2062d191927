"""Pieces the trainers of several networks share (pix2pix, CycleGAN, CoGAN).

- `random_jitter` / `jitter_phase`: pix2pix/CycleGAN's augmentation (resize up, random crop
  back, random flip), a phase of the step on the device, the same crop and flip for the images
  of one example.
- `mean_abs`: the L1 term of the translation losses.
- `TwoImageTrainer`: what every trainer of a paired or unpaired data set shares: checks, the
  test split, sample pictures.
"""

from __future__ import annotations

import logging

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import visualize
from jaxgan.errors import JaxganError
from jaxgan.train.contract import TrainerBase
from jaxgan.train.phases import Phase

log = logging.getLogger("jaxgan")


# ------------------------------------------------------------------ augmentation


def random_jitter(key, images: list, load_size: int, flip: bool) -> list:
  """pix2pix's random jitter on [B, S, S, C] images: resize to load_size (bicubic), crop a
  random S x S window back, flip left-right with probability 1/2. The images of one example
  (an input and its target) get the same window and flip; load_size <= S skips the crop."""
  batch, size = images[0].shape[0], images[0].shape[1]
  crop_key, flip_key = jax.random.split(key)
  if load_size > size:
    offsets = jax.random.randint(crop_key, (batch, 2), 0, load_size - size + 1)

    def crop(image, offset):
      return jax.lax.dynamic_slice(image, (offset[0], offset[1], 0),
                                   (size, size, image.shape[-1]))

    resized = [jax.image.resize(x, (batch, load_size, load_size, x.shape[-1]), "cubic")
               for x in images]
    images = [jnp.clip(jax.vmap(crop)(x, offsets), -1.0, 1.0) for x in resized]
  if flip:
    flips = jax.random.bernoulli(flip_key, 0.5, (batch, 1, 1, 1))
    images = [jnp.where(flips, x[:, :, ::-1], x) for x in images]
  return images


def augment_config(config):
  """(load_size, flip) from the config's optional `augment` section."""
  augment = config.get("augment")
  if augment is None:
    return 0, False
  return int(augment.get("load_size", 0)), bool(augment.get("flip", False))


def jitter_phase(config, names: tuple[str, ...], paired: bool, key_slot: int) -> Phase | None:
  """The random jitter of the step's images `names` as a phase (None when the config asks for
  none): paired, they share one crop and flip (an input and its target); unpaired, each gets
  its own (two domains)."""
  load_size, flip = augment_config(config)
  if not (load_size or flip):
    return None

  def run(state, inputs, key):
    images = [inputs[n] for n in names]
    if paired:
      images = random_jitter(key, images, load_size, flip)
    else:
      keys = jax.random.split(key, len(images))
      images = [random_jitter(k, [x], load_size, flip)[0] for k, x in zip(keys, images)]
    return state, {}, dict(zip(names, images))

  return Phase("jitter", run, key_slot=key_slot)


# ------------------------------------------------------------------ metrics


def mean_abs(x, y):
  return jnp.mean(jnp.abs(x.astype(jnp.float32) - y.astype(jnp.float32)))


# ------------------------------------------------------------------ inference in batches


def batched(fn, arrays, batch_size: int, pad: bool = True):
  """fn over the leading axis of `arrays` (a tuple of equally long arrays) in chunks, results
  concatenated as numpy. With pad, a chunk shorter than batch_size is zero-padded to the next
  power of two (at most batch_size) and the padding dropped again, so any number of examples
  runs with a handful of compiled shapes. (Not for functions whose outputs depend on the
  batch, such as batch norm on the batch's own statistics: pass pad=False.)"""
  num = len(arrays[0])
  outs = []
  for start in range(0, num, batch_size):
    chunk = [a[start:start + batch_size] for a in arrays]
    size = len(chunk[0])
    if pad and size < batch_size:
      target = min(batch_size, 1 << (size - 1).bit_length())
      chunk = [np.concatenate([c, np.zeros((target - size,) + c.shape[1:], c.dtype)])
               for c in chunk]
    result = fn(*chunk, start // batch_size)
    outs.append(jax.tree_util.tree_map(lambda r, size=size: np.asarray(r)[:size], result))
  return jax.tree_util.tree_map(lambda *rs: np.concatenate(rs), *outs)


# ------------------------------------------------------------------ pictures


def as_rgb(images: np.ndarray) -> np.ndarray:
  return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def rows_picture(columns: list[np.ndarray], groups: int = 1) -> np.ndarray:
  """Float [-1, 1] image arrays (N, H, W, C) as one uint8 picture: row i shows example i of
  every column side by side; `groups` puts that many examples per picture row."""
  any_rgb = any(c.shape[-1] == 3 for c in columns)
  columns = [as_rgb(c) if any_rgb else c for c in columns]
  n = columns[0].shape[0]
  tiles = np.stack(columns, axis=1).reshape((n * len(columns),) + columns[0].shape[1:])
  return visualize.image_grid(visualize.to_uint8(tiles), columns=len(columns) * groups)


# ------------------------------------------------------------------ the trainer base


class TwoImageTrainer(TrainerBase):
  """Shared by the trainers of paired and unpaired data; subclasses set `pairing`."""

  def __init__(self, config, info):
    self.config, self.info = config, info
    if config.n_critic != 1:
      raise JaxganError(f"the {config.trainer!r} trainer makes one discriminator update per "
                        f"step; n_critic must be 1, got {config.n_critic}")
    self._test = None
    self._test_error = None

  def build(self):
    from jaxgan import models  # pylint: disable=g-import-not-at-top
    try:
      return models.build(self.config, self.info)
    except ValueError as e:
      raise JaxganError(f"cannot build {self.config.architecture} for "
                        f"{self.info.shape} -> {self.info.target_shape}: {e}") from e

  def test_source(self):
    """The data set's test split (None, with the reason logged once, where it has none)."""
    if self._test is None and self._test_error is None:
      from jaxgan import data  # pylint: disable=g-import-not-at-top
      try:
        self._test = data.load(self.config.data, "test")[0]
      except JaxganError as e:
        self._test_error = str(e)
        log.warning("no test split, pictures use training examples: %s", e)
    return self._test

  def require_test_source(self):
    source = self.test_source()
    if source is None:
      raise JaxganError(f"data set {self.info.name!r} has no usable test split: "
                        f"{self._test_error}")
    return source

  def examples(self, num: int, seed: int | None = None, require_test: bool = True) -> dict:
    """`num` examples of the test split (or of the training data, for pictures only): the first
    ones when seed is None, else a seeded draw (without repeats while the split lasts)."""
    from jaxgan import data  # pylint: disable=g-import-not-at-top
    from jaxgan.data.pipeline import fetch_batch  # pylint: disable=g-import-not-at-top
    source = self.require_test_source() if require_test else self.test_source()
    if source is None:
      source = data.load(self.config.data, "train")[0]
    n = len(source)
    order = (np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n))
    indices = order[np.arange(num) % n]
    return fetch_batch(source, indices)
