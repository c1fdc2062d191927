"""A small CNN classifier of the embedded digits: the feature extractor for digits FD/KID/IS.

Inception-v3 is meaningless on 8x8 digits, so the digits metrics use this network instead. It is
trained once, deterministically (fixed seed, fixed number of epochs, plain float32 on one device),
on the 'train' split, and its parameters are cached under $JAXGAN_CACHE (default ~/.cache/jaxgan)
in a file named by a hash of the training recipe: change the recipe and a new file is trained,
keep it and every later use loads the file instead of training. Training is bit-for-bit
reproducible on one platform (CPU here); other backends (GPU) may round differently, so to compare
numbers across machines, copy the cache file rather than retraining.

Every input (N, H, W, 1) or (N, H, W, 3) in [-1, 1] is turned gray (channel mean), clipped to
[-1, 1] (what saving to uint8 would do) and resized to 32x32, so generators of any resolution are
judged by one network.
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

from jaxgan.data.embedded import DIGITS_NUM_CLASSES, digits_arrays
from jaxgan.errors import JaxganError

INPUT_SIZE = 32
# Bump when the network or the training code changes in a way the recipe fields do not capture,
# so stale cached parameters are not reused.
CODE_VERSION = 1


@dataclasses.dataclass(frozen=True)
class ClassifierRecipe:
  """Everything that determines the trained parameters; its hash names the cache file."""

  seed: int = 0
  num_epochs: int = 30
  batch_size: int = 64
  learning_rate: float = 2e-3
  widths: tuple[int, ...] = (16, 32, 64)
  feature_dim: int = 64
  max_shift: int = 2  # random translation, in pixels of the 32x32 input
  num_train: int | None = None  # None: the whole 'train' split (a prefix, for quick tests)

  def digest(self) -> str:
    fields = dataclasses.asdict(self) | {"code_version": CODE_VERSION, "input_size": INPUT_SIZE}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


DEFAULT_RECIPE = ClassifierRecipe()


class DigitsCNN(nn.Module):
  """Three conv+ReLU+avg-pool stages (32->16->8->4), a dense hidden layer, and the class logits.

  Returns (logits, features). The features are the hidden layer's pre-activations: unlike the
  post-ReLU values (where about half the units were dead on real digits) every dimension carries
  information, which FD's covariance and KID's kernel need.
  """

  widths: tuple[int, ...] = DEFAULT_RECIPE.widths
  feature_dim: int = DEFAULT_RECIPE.feature_dim
  num_classes: int = DIGITS_NUM_CLASSES

  @nn.compact
  def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    for width in self.widths:
      x = nn.relu(nn.Conv(width, (3, 3))(x))
      x = nn.avg_pool(x, (2, 2), strides=(2, 2))
    x = x.reshape(x.shape[0], -1)
    features = nn.Dense(self.feature_dim)(x)
    return nn.Dense(self.num_classes)(nn.relu(features)), features


def preprocess(images: jax.Array) -> jax.Array:
  """(N, H, W, 1|3) images in [-1, 1] to the classifier's (N, 32, 32, 1) input."""
  if images.ndim != 4 or images.shape[-1] not in (1, 3):
    raise JaxganError(f"digits classifier wants images (N, H, W, 1 or 3), got {images.shape}")
  images = jnp.asarray(images, jnp.float32)
  images = jnp.clip(jnp.mean(images, axis=-1, keepdims=True), -1.0, 1.0)
  if images.shape[1:3] == (INPUT_SIZE, INPUT_SIZE):
    return images
  # Antialiased linear resizing averages over the footprint when shrinking (like area resizing)
  # and is plain bilinear when enlarging the 8x8 originals.
  return jax.image.resize(
      images, (images.shape[0], INPUT_SIZE, INPUT_SIZE, 1), method="linear", antialias=True)


def _random_shift(key: jax.Array, images: jax.Array, max_shift: int) -> jax.Array:
  """Translate each image by up to max_shift pixels, filling with the background value -1."""
  if max_shift == 0:
    return images
  size = images.shape[1]
  padded = jnp.pad(images, ((0, 0), (max_shift,) * 2, (max_shift,) * 2, (0, 0)),
                   constant_values=-1.0)
  offsets = jax.random.randint(key, (images.shape[0], 2), 0, 2 * max_shift + 1)
  crop = lambda img, off: jax.lax.dynamic_slice(img, (off[0], off[1], 0), (size, size, 1))
  return jax.vmap(crop)(padded, offsets)


def train_digits_classifier(recipe: ClassifierRecipe = DEFAULT_RECIPE):
  """Trains the classifier from scratch (no cache); returns its params pytree."""
  images, labels = digits_arrays("train")
  if recipe.num_train is not None:
    images, labels = images[: recipe.num_train], labels[: recipe.num_train]
  images = np.asarray(preprocess(images))
  model = DigitsCNN(recipe.widths, recipe.feature_dim)
  key = jax.random.PRNGKey(recipe.seed)
  init_key, key = jax.random.split(key)
  params = model.init(init_key, images[:1])["params"]
  steps_per_epoch = len(images) // recipe.batch_size  # drop the ragged batch: one compiled shape
  if steps_per_epoch == 0:
    raise JaxganError(f"need at least batch_size={recipe.batch_size} training digits")
  schedule = optax.cosine_decay_schedule(
      recipe.learning_rate, recipe.num_epochs * steps_per_epoch)
  optimizer = optax.adam(schedule)
  opt_state = optimizer.init(params)

  @jax.jit
  def train_step(params, opt_state, key, batch_images, batch_labels):
    batch_images = _random_shift(key, batch_images, recipe.max_shift)

    def loss_fn(params):
      logits, _ = model.apply({"params": params}, batch_images)
      return optax.softmax_cross_entropy_with_integer_labels(logits, batch_labels).mean()

    grads = jax.grad(loss_fn)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  for _ in range(recipe.num_epochs):
    key, perm_key = jax.random.split(key)
    order = np.asarray(jax.random.permutation(perm_key, len(images)))
    for step in range(steps_per_epoch):
      idx = order[step * recipe.batch_size : (step + 1) * recipe.batch_size]
      key, shift_key = jax.random.split(key)
      params, opt_state = train_step(params, opt_state, shift_key, images[idx], labels[idx])
  return jax.device_get(params)


def softmax(logits: np.ndarray) -> np.ndarray:
  """Row-wise softmax in float64 (numpy: jax would compute it in float32)."""
  logits = np.asarray(logits, np.float64)
  exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
  return exp / exp.sum(axis=-1, keepdims=True)


def cache_dir() -> pathlib.Path:
  """$JAXGAN_CACHE, or ~/.cache/jaxgan when unset."""
  return pathlib.Path(os.environ.get("JAXGAN_CACHE") or "~/.cache/jaxgan").expanduser()


def cache_path(recipe: ClassifierRecipe = DEFAULT_RECIPE) -> pathlib.Path:
  return cache_dir() / f"digits_classifier-{recipe.digest()}.msgpack"


class DigitsClassifier:
  """The trained classifier: numpy in, numpy out, evaluated in fixed-size jitted batches.

  Batches are padded to one size so any number of images (10k or more) runs with one compiled
  function per input resolution and bounded memory.

  Features are divided by one constant, the root-mean-square feature value on the real 'train'
  digits, so they are of order 1 whatever the training run: KID's kernel (x.y/d + 1)^3 assumes
  that scale, and FD and KID numbers stay readable. (A single scalar keeps FD a true Fréchet
  distance, just in rescaled units.)
  """

  def __init__(self, params, recipe: ClassifierRecipe = DEFAULT_RECIPE, batch_size: int = 500):
    self.params = params
    self.recipe = recipe
    self.batch_size = batch_size
    model = DigitsCNN(recipe.widths, recipe.feature_dim)
    self._apply = jax.jit(lambda params, x: model.apply({"params": params}, preprocess(x)))
    _, train_features = self._logits_and_raw_features(digits_arrays("train")[0])
    self.feature_scale = float(np.sqrt(np.mean(np.square(train_features, dtype=np.float64))))

  def logits_and_features(self, images) -> tuple[np.ndarray, np.ndarray]:
    """(N, 10) logits and (N, feature_dim) features in one pass."""
    logits, features = self._logits_and_raw_features(images)
    return logits, features / np.float32(self.feature_scale)

  def _logits_and_raw_features(self, images) -> tuple[np.ndarray, np.ndarray]:
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or images.shape[0] == 0:
      raise JaxganError(f"digits classifier wants images (N>0, H, W, 1 or 3), got {images.shape}")
    num = images.shape[0]
    logits, features = [], []
    for start in range(0, num, self.batch_size):
      batch = images[start : start + self.batch_size]
      pad = self.batch_size - batch.shape[0]
      if pad:
        batch = np.concatenate([batch, np.zeros((pad,) + batch.shape[1:], batch.dtype)])
      batch_logits, batch_features = self._apply(self.params, batch)
      logits.append(np.asarray(batch_logits)[: self.batch_size - pad])
      features.append(np.asarray(batch_features)[: self.batch_size - pad])
    return np.concatenate(logits), np.concatenate(features)

  def logits(self, images) -> np.ndarray:
    """(N, 10) class logits."""
    return self.logits_and_features(images)[0]

  def probs(self, images) -> np.ndarray:
    """(N, 10) class probabilities."""
    return softmax(self.logits(images))

  def features(self, images) -> np.ndarray:
    """(N, feature_dim) penultimate-layer pre-activations, rescaled: FD and KID's space."""
    return self.logits_and_features(images)[1]

  def accuracy(self, images, labels) -> float:
    return float(np.mean(np.argmax(self.logits(images), axis=-1) == np.asarray(labels)))


def load_digits_classifier(
    recipe: ClassifierRecipe = DEFAULT_RECIPE, use_cache: bool = True) -> DigitsClassifier:
  """The trained classifier: loaded from the cache file, else trained (about 15 s on 2 CPU
  cores) and saved there. Kept in memory per (cache directory, recipe)."""
  if not use_cache:
    return DigitsClassifier(train_digits_classifier(recipe), recipe)
  return _load_cached(str(cache_path(recipe)), recipe)


@functools.lru_cache(maxsize=None)
def _load_cached(path: str, recipe: ClassifierRecipe) -> DigitsClassifier:
  path = pathlib.Path(path)
  template = _param_template(recipe)
  if path.exists():
    try:
      return DigitsClassifier(serialization.from_bytes(template, path.read_bytes()), recipe)
    except Exception:  # pylint: disable=broad-except  # a damaged cache file: train again
      logging.warning("unreadable digits classifier cache %s; training again", path)
  params = train_digits_classifier(recipe)
  try:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a concurrent reader never sees half a file.
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(serialization.to_bytes(params))
    os.replace(tmp, path)
  except OSError as error:  # a read-only cache costs a retraining next time, nothing more
    logging.warning("could not cache the digits classifier at %s: %s", path, error)
  return DigitsClassifier(params, recipe)


def _param_template(recipe: ClassifierRecipe):
  model = DigitsCNN(recipe.widths, recipe.feature_dim)
  shapes = jax.eval_shape(
      model.init, jax.random.PRNGKey(0), jnp.zeros((1, INPUT_SIZE, INPUT_SIZE, 1)))
  return jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), shapes["params"])
