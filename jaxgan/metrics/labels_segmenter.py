"""The FCN-score of the `labels` data set: a small segmenter of rendered facades.

pix2pix (Isola et al. 2016, sec. 4.2) scores labels -> photo translations with an off-the-shelf
semantic segmenter (FCN-8s) trained on real photos: if the generated photo is realistic, the
segmenter finds in it the classes of the label map it was generated from. Here the segmenter is
a small fully convolutional net trained once, deterministically (fixed seed and epochs, float32,
one device), on the real 'train' renders of `jaxgan.data.labels`; its parameters are cached
under $JAXGAN_CACHE (default ~/.cache/jaxgan) in a file named by a hash of the training recipe
and the data set's version, as the digits classifier is (jaxgan.metrics.digits_classifier).
Its scores on the real 'test' renders are the ceiling a generator can reach.

Scores, over all pixels of all images (one confusion matrix, as FCN's evaluation code does):
  pixel_acc  correctly labelled pixels / pixels
  class_acc  the mean over classes of the share of the class's pixels labelled as the class
  class_iou  the mean over classes of |predicted as c and truly c| / |predicted as c or truly c|
Classes absent from the ground truth are left out of the two means.

Inputs of any size S dividing 64 are judged at the segmenter's native 64x64: upsampled
(bilinear), segmented, the logits averaged back over S x S blocks.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import pathlib

import flax.linen as nn
from flax import serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgan.data import labels as labels_data
from jaxgan.errors import JaxganError
from jaxgan.metrics.digits_classifier import cache_dir

INPUT_SIZE = labels_data.SIZE
CODE_VERSION = 1  # bump when the network or the training changes beyond the recipe's fields


@dataclasses.dataclass(frozen=True)
class SegmenterRecipe:
  """Everything that determines the trained parameters; its hash names the cache file."""

  seed: int = 0
  num_epochs: int = 4
  batch_size: int = 25
  learning_rate: float = 3e-3
  widths: tuple[int, ...] = (16, 32)
  num_train: int | None = None  # None: the whole 'train' split (a prefix, for quick tests)

  def digest(self) -> str:
    fields = dataclasses.asdict(self) | {"code_version": CODE_VERSION,
                                         "data_version": labels_data.VERSION,
                                         "input_size": INPUT_SIZE}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


DEFAULT_RECIPE = SegmenterRecipe()


class FacadeSegmenter(nn.Module):
  """Per-pixel class logits (N, 64, 64, classes) of (N, 64, 64, 3) images in [-1, 1].

  Two 3x3 conv+ReLU layers at each of 64, 32 and 16 pixels (an 18-pixel receptive field at the
  coarsest scale, enough to see a brick course or a window frame), the three scales' features
  upsampled and concatenated at full resolution, a 1x1 layer to the class logits.
  """

  widths: tuple[int, ...] = DEFAULT_RECIPE.widths
  num_classes: int = labels_data.NUM_CLASSES

  @nn.compact
  def __call__(self, x):
    size = x.shape[1]
    fine = nn.relu(nn.Conv(self.widths[0], (3, 3))(x))
    fine = nn.relu(nn.Conv(self.widths[0], (3, 3))(fine))
    mid = nn.avg_pool(fine, (2, 2), strides=(2, 2))
    mid = nn.relu(nn.Conv(self.widths[1], (3, 3))(mid))
    mid = nn.relu(nn.Conv(self.widths[1], (3, 3))(mid))
    coarse = nn.avg_pool(mid, (2, 2), strides=(2, 2))
    coarse = nn.relu(nn.Conv(self.widths[1], (3, 3))(coarse))
    coarse = nn.relu(nn.Conv(self.widths[1], (3, 3))(coarse))
    up = lambda h: jax.image.resize(h, (h.shape[0], size, size, h.shape[-1]), "bilinear")
    h = jnp.concatenate([fine, up(mid), up(coarse)], axis=-1)
    h = nn.relu(nn.Conv(self.widths[1], (1, 1))(h))
    return nn.Conv(self.num_classes, (1, 1))(h)


def _check_images(images) -> np.ndarray:
  images = np.asarray(images, np.float32)
  if (images.ndim != 4 or images.shape[-1] != 3 or images.shape[1] != images.shape[2]
      or images.shape[0] == 0):
    raise JaxganError(f"the facade segmenter wants images (N>0, S, S, 3), got {images.shape}")
  labels_data.check_size(images.shape[1])
  return images


def train_segmenter(recipe: SegmenterRecipe = DEFAULT_RECIPE):
  """Trains the segmenter from scratch (no cache) on the real 'train' facades; its params."""
  maps, images = labels_data.facades("train")
  if recipe.num_train is not None:
    maps, images = maps[:recipe.num_train], images[:recipe.num_train]
  images = labels_data.to_model_images(images)
  maps = maps.astype(np.int32)
  model = FacadeSegmenter(recipe.widths)
  key = jax.random.PRNGKey(recipe.seed)
  init_key, key = jax.random.split(key)
  params = model.init(init_key, images[:1])["params"]
  steps_per_epoch = len(images) // recipe.batch_size  # the ragged batch dropped: one shape
  if steps_per_epoch == 0:
    raise JaxganError(f"need at least batch_size={recipe.batch_size} training facades")
  optimizer = optax.adam(optax.cosine_decay_schedule(recipe.learning_rate,
                                                     recipe.num_epochs * steps_per_epoch))
  opt_state = optimizer.init(params)

  @jax.jit
  def train_step(params, opt_state, key, batch_images, batch_maps):
    flip = jax.random.bernoulli(key, 0.5, (batch_images.shape[0], 1, 1))  # mirrored facades
    batch_images = jnp.where(flip[..., None], batch_images[:, :, ::-1], batch_images)
    batch_maps = jnp.where(flip, batch_maps[:, :, ::-1], batch_maps)

    def loss_fn(params):
      logits = model.apply({"params": params}, batch_images)
      return optax.softmax_cross_entropy_with_integer_labels(logits, batch_maps).mean()

    grads = jax.grad(loss_fn)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  for _ in range(recipe.num_epochs):
    key, perm_key = jax.random.split(key)
    order = np.asarray(jax.random.permutation(perm_key, len(images)))
    for step in range(steps_per_epoch):
      idx = order[step * recipe.batch_size:(step + 1) * recipe.batch_size]
      key, flip_key = jax.random.split(key)
      params, opt_state = train_step(params, opt_state, flip_key, images[idx], maps[idx])
  return jax.device_get(params)


def confusion_matrix(truth, predicted, num_classes: int = labels_data.NUM_CLASSES) -> np.ndarray:
  """(classes, classes) int64 counts: [t, p] = pixels of true class t labelled p."""
  truth, predicted = np.asarray(truth).ravel(), np.asarray(predicted).ravel()
  if truth.shape != predicted.shape:
    raise JaxganError(f"truth and prediction differ in size: {truth.size} and {predicted.size}")
  return np.bincount(truth.astype(np.int64) * num_classes + predicted,
                     minlength=num_classes ** 2).reshape(num_classes, num_classes)


def segmentation_scores(truth, predicted, num_classes: int = labels_data.NUM_CLASSES) -> dict:
  """pixel_acc, class_acc, class_iou of class maps `predicted` against `truth` (same shapes),
  over all their pixels; classes absent from `truth` are left out of the means."""
  hist = confusion_matrix(truth, predicted, num_classes).astype(np.float64)
  correct, true_count, predicted_count = np.diag(hist), hist.sum(axis=1), hist.sum(axis=0)
  present = true_count > 0
  return {
      "pixel_acc": float(correct.sum() / max(hist.sum(), 1.0)),
      "class_acc": float(np.mean(correct[present] / true_count[present])),
      "class_iou": float(np.mean(correct[present] / (true_count + predicted_count
                                                     - correct)[present])),
  }


class Segmenter:
  """The trained segmenter: numpy in, numpy out, in fixed-size jitted batches."""

  def __init__(self, params, recipe: SegmenterRecipe = DEFAULT_RECIPE, batch_size: int = 100):
    self.params, self.recipe, self.batch_size = params, recipe, batch_size
    model = FacadeSegmenter(recipe.widths)

    def logits_at(params, x):
      size = x.shape[1]
      if size != INPUT_SIZE:
        x = jax.image.resize(x, (x.shape[0], INPUT_SIZE, INPUT_SIZE, 3), "bilinear")
      logits = model.apply({"params": params}, jnp.clip(x, -1.0, 1.0))
      k = INPUT_SIZE // size  # back to the input's size: the mean over each k x k block
      return logits.reshape(x.shape[0], size, k, size, k, -1).mean(axis=(2, 4))

    self._logits = jax.jit(logits_at)

  def logits(self, images) -> np.ndarray:
    """(N, S, S, classes) logits of (N, S, S, 3) images in [-1, 1] (clipped, as saving would)."""
    images = _check_images(images)
    out = []
    for start in range(0, len(images), self.batch_size):
      batch = images[start:start + self.batch_size]
      pad = self.batch_size - len(batch)
      if pad:
        batch = np.concatenate([batch, np.zeros((pad,) + batch.shape[1:], np.float32)])
      out.append(np.asarray(self._logits(self.params, batch))[:self.batch_size - pad])
    return np.concatenate(out)

  def predict(self, images) -> np.ndarray:
    """(N, S, S) int32 class maps."""
    return np.argmax(self.logits(images), axis=-1).astype(np.int32)

  def scores(self, images, truth) -> dict:
    """segmentation_scores of the segmenter's maps of `images` against the class maps `truth`."""
    truth = np.asarray(truth)
    images = _check_images(images)
    if truth.shape != images.shape[:3]:
      raise JaxganError(f"class maps {truth.shape} do not match images {images.shape}")
    return segmentation_scores(truth, self.predict(images))


def cache_path(recipe: SegmenterRecipe = DEFAULT_RECIPE) -> pathlib.Path:
  return cache_dir() / f"labels_segmenter-{recipe.digest()}.msgpack"


def load_segmenter(recipe: SegmenterRecipe = DEFAULT_RECIPE) -> Segmenter:
  """The trained segmenter: loaded from the cache file, else trained (about 30 s of CPU) and
  saved there. Kept in memory per (cache file, recipe)."""
  return _load_cached(str(cache_path(recipe)), recipe)


@functools.lru_cache(maxsize=None)
def _load_cached(path: str, recipe: SegmenterRecipe) -> Segmenter:
  path = pathlib.Path(path)
  if path.exists():
    try:
      return Segmenter(serialization.from_bytes(_param_template(recipe), path.read_bytes()),
                       recipe)
    except Exception:  # pylint: disable=broad-except  # a damaged cache file: train again
      logging.warning("unreadable facade segmenter cache %s; training again", path)
  params = train_segmenter(recipe)
  try:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")  # write, then rename: readers see whole files
    tmp.write_bytes(serialization.to_bytes(params))
    os.replace(tmp, path)
  except OSError as error:  # a read-only cache costs a retraining next time, nothing more
    logging.warning("could not cache the facade segmenter at %s: %s", path, error)
  return Segmenter(params, recipe)


def _param_template(recipe: SegmenterRecipe):
  shapes = jax.eval_shape(FacadeSegmenter(recipe.widths).init, jax.random.PRNGKey(0),
                          jnp.zeros((1, INPUT_SIZE, INPUT_SIZE, 3)))
  return jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), shapes["params"])


@functools.lru_cache(maxsize=4)
def _real_test_scores(segmenter: Segmenter, size: int) -> dict:
  split = labels_data.split_arrays("test", size)
  return segmenter.scores(split["target"], split["classes"])


def real_ceiling(size: int = INPUT_SIZE) -> dict:
  """The segmenter's scores on every real 'test' facade at `size`: what a generator can reach."""
  return dict(_real_test_scores(load_segmenter(), size))


def mean_gradient(images) -> float:
  """Sharpness: the mean magnitude of horizontal and vertical pixel differences of (N, H, W, C)
  images in [-1, 1], on a 0-1 scale (clipped first). A blurred image has less of it than the
  real one; a noisy one more."""
  images = np.clip(np.asarray(images, np.float32), -1.0, 1.0) / 2.0
  dy, dx = np.diff(images, axis=1), np.diff(images, axis=2)
  return float(np.mean(np.sqrt(np.square(dy[:, :, :-1]) + np.square(dx[:, :-1]))))
