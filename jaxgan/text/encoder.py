"""The caption encoder of captioned_digits: a word-level bidirectional GRU, 1024-d per caption.

Trained once, deterministically, on the 'train' split, jointly with a small CNN image encoder
(the joint-embedding idea of Reed et al. 2016, DS-SJE): both map into one 1024-d space where an
image and its own captions score higher than the other pairs of the batch.

The loss is the symmetric contrastive one (InfoNCE in both directions, caption->image and
image->caption, over cosine similarities / TEMPERATURE), not DS-SJE's structured hinge: the hinge
is defined against class prototypes, and captioned_digits has no classes finer than its attribute
combinations (most of which occur once), so the per-pair form is the one that fits; the softmax
over the whole batch also gives a gradient from every negative rather than only the margin
violators, which converges in the few CPU minutes this is allowed. Each batch holds distinct
images, each with one of its ten captions drawn at random.

Caption embeddings are stored exactly as the published StackGAN files
(`<split>/char-CNN-RNN-embeddings.pickle`, float32 (N, 10, 1024), and `<split>/filenames.pickle`,
a list of N names), under $JAXGAN_CACHE, and read back by jaxgan.data.stackgan_files, the loader of
the real CUB/COCO files, so one reader serves both. Every stored embedding is rescaled to L2 norm
sqrt(1024) (one unit per dimension, root mean square), whichever encoder made it, so the
conditioning-augmentation layer sees one scale.

The stored 'gru_cca' embeddings (the default) are the GRU's outputs in canonical coordinates
(`TextProjection`); 'gru' keeps the GRU's raw outputs, as runs made before the projection were
trained on (their recorded config says 'gru', so they sample and resume as trained):
the contrastive encoder spends nearly all of its variance on the large visual attributes
(background, colour, position: 32 principal directions hold 99% of it) and keeps the class,
slant and thickness in directions of about 1/1000 of the top variance, which StackGAN's
conditioning augmentation (a random-initialised Dense + ReLU to 128 means) all but loses (a
linear probe reads the class from its mean at 0.25). So the embeddings are projected once, by
statistics of the training pairs alone (no attribute labels), onto the PROJECTION_DIM
directions of the text space most correlated with the paired images' embeddings (CCA: text and
image each whitened over their top WHITEN_DIM principal directions, then the SVD of their
cross-covariance), each of unit variance, the rest of the 1024 zero; then the L2 rescaling.
The projection is computed on first use and cached beside the encoder.

The ablation, encoder='multihot': the caption's mentioned attribute values as a multi-hot vector
(class 10, colour 8, background 8, thickness 2, slant 3, size 2, position 9, pattern 3: 45 slots
in that order, the rest of the 1024 zero; an attribute the caption leaves out is all zeros),
rescaled the same way.

The trained parameters and the vocabulary are cached in a file named by a hash of the recipe, as
jaxgan.metrics.digits_classifier does. Training is bit-for-bit reproducible on one platform.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import pathlib
import pickle
import re
import time

import flax.linen as nn
from flax import serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgan.data import captioned_digits as cd
from jaxgan.errors import JaxganError

EMBEDDING_DIM = cd.EMBEDDING_DIM
PAD, UNK = "<pad>", "<unk>"
CODE_VERSION = 1
PROJECTION_DIM = 128  # canonical directions kept
WHITEN_DIM = 256  # principal directions of each side whitened before CCA
ENCODERS = ("gru_cca", "gru", "multihot")


@dataclasses.dataclass(frozen=True)
class EncoderRecipe:
  """Everything that determines the trained encoder; its hash names the cache files."""

  seed: int = 0
  num_steps: int = 800
  batch_size: int = 128
  learning_rate: float = 2e-3
  word_dim: int = 64
  hidden: int = 128  # per direction
  image_widths: tuple[int, ...] = (32, 64, 128)
  temperature: float = 0.1
  max_len: int = 36
  num_train: int | None = None  # None: every 'train' image (a prefix, for quick tests)

  def digest(self) -> str:
    fields = dataclasses.asdict(self) | {"code_version": CODE_VERSION, "data": cd.VERSION,
                                         "dim": EMBEDDING_DIM}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


DEFAULT_RECIPE = EncoderRecipe()


# ------------------------------------------------------------------ words


def tokenize(text: str) -> list[str]:
  """Lower case; words and each punctuation mark as separate tokens."""
  return re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*|[^\sa-z0-9]", text.lower())


def build_vocabulary(captions: list[list[str]]) -> tuple[str, ...]:
  """PAD (id 0), UNK (id 1), then every word of the captions, sorted."""
  words = sorted({w for row in captions for text in row for w in tokenize(text)})
  return (PAD, UNK) + tuple(words)


def encode_tokens(texts: list[str], vocabulary: tuple[str, ...], max_len: int):
  """(ids int32 (N, max_len) zero-padded, lengths int32 (N,)); longer captions are cut."""
  index = {w: i for i, w in enumerate(vocabulary)}
  ids = np.zeros((len(texts), max_len), np.int32)
  lengths = np.zeros(len(texts), np.int32)
  for row, text in enumerate(texts):
    tokens = [index.get(w, 1) for w in tokenize(text)][:max_len] or [1]
    ids[row, : len(tokens)] = tokens
    lengths[row] = len(tokens)
  return ids, lengths


# ------------------------------------------------------------------ networks


class CaptionEncoder(nn.Module):
  """Word embeddings -> bidirectional GRU -> [final states, masked mean of outputs] -> 1024."""

  vocab_size: int
  word_dim: int = DEFAULT_RECIPE.word_dim
  hidden: int = DEFAULT_RECIPE.hidden
  out_dim: int = EMBEDDING_DIM

  @nn.compact
  def __call__(self, ids: jax.Array, lengths: jax.Array) -> jax.Array:
    x = nn.Embed(self.vocab_size, self.word_dim)(ids)
    rnn = nn.Bidirectional(nn.RNN(nn.GRUCell(self.hidden)), nn.RNN(nn.GRUCell(self.hidden)),
                           return_carry=True)
    (carry_fwd, carry_bwd), outputs = rnn(x, seq_lengths=lengths)
    mask = (jnp.arange(ids.shape[1])[None, :] < lengths[:, None]).astype(x.dtype)[..., None]
    mean = (outputs * mask).sum(axis=1) / jnp.maximum(mask.sum(axis=1), 1.0)
    return nn.Dense(self.out_dim)(jnp.concatenate([carry_fwd, carry_bwd, mean], axis=-1))


class ImageEncoder(nn.Module):
  """64x64x3 in [-1, 1] -> a 4x4 stride-4 conv (one period of the background pattern per patch,
  always in the same phase, so one linear filter reads it) -> stride-2 3x3 convs -> 1024."""

  widths: tuple[int, ...] = DEFAULT_RECIPE.image_widths
  out_dim: int = EMBEDDING_DIM

  @nn.compact
  def __call__(self, images: jax.Array) -> jax.Array:
    x = nn.relu(nn.Conv(self.widths[0], (4, 4), strides=(4, 4), padding="VALID")(images))
    for width in self.widths[1:]:
      x = nn.relu(nn.Conv(width, (3, 3), strides=(2, 2))(x))
    return nn.Dense(self.out_dim)(x.reshape(x.shape[0], -1))


class JointModel(nn.Module):
  vocab_size: int
  recipe: EncoderRecipe

  def setup(self):
    self.text = CaptionEncoder(self.vocab_size, self.recipe.word_dim, self.recipe.hidden)
    self.image = ImageEncoder(self.recipe.image_widths)

  def __call__(self, ids, lengths, images):
    return self.text(ids, lengths), self.image(images)

  def embed_text(self, ids, lengths):
    return self.text(ids, lengths)

  def embed_image(self, images):
    return self.image(images)


def _normalize(x: jax.Array) -> jax.Array:
  return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-6)


def contrastive_loss(text: jax.Array, image: jax.Array, temperature: float) -> jax.Array:
  """Symmetric InfoNCE: row i of `text` belongs with row i of `image`, the rest are negatives."""
  logits = _normalize(text) @ _normalize(image).T / temperature
  labels = jnp.arange(logits.shape[0])
  return 0.5 * (optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
                + optax.softmax_cross_entropy_with_integer_labels(logits.T, labels).mean())


def _model_images(images: np.ndarray) -> np.ndarray:
  return images.astype(np.float32) / 127.5 - 1.0


# ------------------------------------------------------------------ training


def train_text_encoder(recipe: EncoderRecipe = DEFAULT_RECIPE):
  """Trains from scratch (no cache); returns (params, vocabulary, losses per step, seconds)."""
  data = cd.captioned_digits("train")
  images, captions = data["images"], data["captions"]
  if recipe.num_train is not None:
    images, captions = images[: recipe.num_train], captions[: recipe.num_train]
  if len(images) < recipe.batch_size:
    raise JaxganError(f"need at least batch_size={recipe.batch_size} training images")
  vocabulary = build_vocabulary(captions)
  flat = [t for row in captions for t in row]
  ids, lengths = encode_tokens(flat, vocabulary, recipe.max_len)
  per = cd.CAPTIONS_PER_IMAGE
  ids, lengths = ids.reshape(len(images), per, -1), lengths.reshape(len(images), per)
  model = JointModel(len(vocabulary), recipe)
  key = jax.random.PRNGKey(recipe.seed)
  init_key, key = jax.random.split(key)
  params = model.init(init_key, ids[:2, 0], lengths[:2, 0], _model_images(images[:2]))["params"]
  schedule = optax.cosine_decay_schedule(recipe.learning_rate, recipe.num_steps)
  optimizer = optax.adam(schedule)
  opt_state = optimizer.init(params)

  @jax.jit
  def step(params, opt_state, batch_ids, batch_lengths, batch_images):
    def loss_fn(params):
      text, image = model.apply({"params": params}, batch_ids, batch_lengths, batch_images)
      return contrastive_loss(text, image, recipe.temperature)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  rng = np.random.default_rng(recipe.seed)
  losses = []
  start = time.perf_counter()
  for _ in range(recipe.num_steps):
    which = rng.choice(len(images), recipe.batch_size, replace=False)
    cap = rng.integers(per, size=recipe.batch_size)
    params, opt_state, loss = step(params, opt_state, ids[which, cap], lengths[which, cap],
                                   _model_images(images[which]))
    losses.append(float(loss))
  return jax.device_get(params), vocabulary, np.array(losses), time.perf_counter() - start


def cache_path(recipe: EncoderRecipe = DEFAULT_RECIPE) -> pathlib.Path:
  return cd.cache_dir() / f"text_encoder-{recipe.digest()}.msgpack"


class TextEncoder:
  """The trained caption and image encoders: numpy in, numpy out, in fixed-size jitted batches."""

  def __init__(self, params, vocabulary: tuple[str, ...], recipe: EncoderRecipe = DEFAULT_RECIPE,
               train_seconds: float | None = None, batch_size: int = 512):
    self.params, self.vocabulary, self.recipe = params, tuple(vocabulary), recipe
    self.train_seconds = train_seconds
    self.batch_size = batch_size
    model = JointModel(len(self.vocabulary), recipe)
    self._text = jax.jit(lambda p, i, n: model.apply({"params": p}, i, n,
                                                     method=JointModel.embed_text))
    self._image = jax.jit(lambda p, x: model.apply({"params": p}, x,
                                                   method=JointModel.embed_image))

  def _batched(self, fn, *arrays):
    out = []
    for start in range(0, len(arrays[0]), self.batch_size):
      chunk = [a[start : start + self.batch_size] for a in arrays]
      pad = self.batch_size - len(chunk[0])
      chunk = [np.concatenate([c, np.repeat(c[-1:], pad, axis=0)]) if pad else c for c in chunk]
      out.append(np.asarray(fn(self.params, *chunk))[: self.batch_size - pad])
    return np.concatenate(out) if out else np.zeros((0, EMBEDDING_DIM), np.float32)

  def embed(self, captions: list[str]) -> np.ndarray:
    """float32 (N, 1024) raw caption embeddings (before the sqrt(1024)-norm rescaling)."""
    ids, lengths = encode_tokens(list(captions), self.vocabulary, self.recipe.max_len)
    return self._batched(self._text, ids, lengths)

  def embed_images(self, images: np.ndarray) -> np.ndarray:
    """uint8 (N, 64, 64, 3) -> float32 (N, 1024) image embeddings in the joint space."""
    return self._batched(self._image, _model_images(np.asarray(images)))


def load_text_encoder(recipe: EncoderRecipe = DEFAULT_RECIPE,
                      use_cache: bool = True) -> TextEncoder:
  """The trained encoder: from the cache file, else trained (a few CPU minutes) and saved."""
  if not use_cache:
    params, vocabulary, _, seconds = train_text_encoder(recipe)
    return TextEncoder(params, vocabulary, recipe, seconds)
  return _load_cached(str(cache_path(recipe)), recipe)


@functools.lru_cache(maxsize=None)
def _load_cached(path: str, recipe: EncoderRecipe) -> TextEncoder:
  path = pathlib.Path(path)
  if path.exists():
    try:
      stored = serialization.msgpack_restore(path.read_bytes())
      vocabulary = tuple(json.loads(stored["vocabulary"]))
      params = serialization.from_state_dict(_param_template(recipe, len(vocabulary)),
                                             stored["params"])
      return TextEncoder(params, vocabulary, recipe, float(stored["train_seconds"]))
    except Exception:  # pylint: disable=broad-except  # a damaged cache file: train again
      logging.warning("unreadable text encoder cache %s; training again", path)
  params, vocabulary, losses, seconds = train_text_encoder(recipe)
  logging.info("trained the text encoder in %.0f s, loss %.3f -> %.3f", seconds,
               losses[:50].mean(), losses[-50:].mean())
  try:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(serialization.msgpack_serialize({
        "params": serialization.to_state_dict(params), "vocabulary": json.dumps(vocabulary),
        "train_seconds": seconds, "losses": np.asarray(losses, np.float32)}))
    os.replace(tmp, path)
  except OSError as error:
    logging.warning("could not cache the text encoder at %s: %s", path, error)
  return TextEncoder(params, vocabulary, recipe, seconds)


def _param_template(recipe: EncoderRecipe, vocab_size: int):
  model = JointModel(vocab_size, recipe)
  shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1, 4), jnp.int32),
                          jnp.ones((1,), jnp.int32), jnp.zeros((1, cd.SIZE, cd.SIZE, 3)))
  return jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), shapes["params"])


# ------------------------------------------------------------------ stored embeddings


@dataclasses.dataclass(frozen=True)
class TextProjection:
  """x (N, 1024) -> (x - mean) @ matrix, zero-padded to 1024 (see the module docstring)."""

  mean: np.ndarray  # (1024,)
  matrix: np.ndarray  # (1024, k)

  def __call__(self, embeddings: np.ndarray) -> np.ndarray:
    out = np.zeros(embeddings.shape[:-1] + (EMBEDDING_DIM,), np.float32)
    out[..., :self.matrix.shape[1]] = (embeddings - self.mean) @ self.matrix
    return out


def _whitener(x: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
  """(mean, (D, dim) matrix) mapping x onto its top `dim` principal directions, unit variance."""
  mean = x.mean(axis=0)
  variance, vectors = np.linalg.eigh(np.cov(x - mean, rowvar=False))
  top = np.argsort(variance)[::-1][:dim]
  top = top[variance[top] > 1e-9 * variance[top[0]]]  # empty directions (few samples) stay out
  return mean, vectors[:, top] / np.sqrt(variance[top])


def canonical_projection(text: np.ndarray, image: np.ndarray, dim: int = PROJECTION_DIM,
                         whiten_dim: int = WHITEN_DIM) -> TextProjection:
  """The text side of a CCA between paired rows of `text` and `image` (N, D each): the `dim`
  text directions most correlated with the images, ordered by correlation, unit variance on
  the training pairs."""
  text, image = np.asarray(text, np.float64), np.asarray(image, np.float64)
  t_mean, t_white = _whitener(text, whiten_dim)
  i_mean, i_white = _whitener(image, whiten_dim)
  cross = ((text - t_mean) @ t_white).T @ ((image - i_mean) @ i_white) / len(text)
  left, _, _ = np.linalg.svd(cross, full_matrices=False)
  return TextProjection(t_mean.astype(np.float32),
                        (t_white @ left[:, :dim]).astype(np.float32))


def projection_path(recipe: EncoderRecipe = DEFAULT_RECIPE) -> pathlib.Path:
  return cd.cache_dir() / (f"text_encoder-{recipe.digest()}-cca{PROJECTION_DIM}-"
                           f"{WHITEN_DIM}.npz")


@functools.lru_cache(maxsize=None)
def text_projection(recipe: EncoderRecipe = DEFAULT_RECIPE) -> TextProjection:
  """The encoder's canonical projection, from the 'train' split's caption-image pairs (cached)."""
  path = projection_path(recipe)
  if path.exists():
    try:
      with np.load(path) as stored:
        return TextProjection(stored["mean"], stored["matrix"])
    except (OSError, ValueError, KeyError):
      logging.warning("unreadable text projection cache %s; computing it again", path)
  model = load_text_encoder(recipe)
  data = cd.captioned_digits("train")
  per = cd.CAPTIONS_PER_IMAGE
  text = rescale(model.embed([t for row in data["captions"] for t in row]))
  image = np.repeat(model.embed_images(data["images"]), per, axis=0)
  projection = canonical_projection(text, image)
  try:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}.npz")
    np.savez(tmp, mean=projection.mean, matrix=projection.matrix)
    os.replace(tmp, path)
  except OSError as error:
    logging.warning("could not cache the text projection at %s: %s", path, error)
  return projection


def gru_embeddings(captions: list[str], recipe: EncoderRecipe = DEFAULT_RECIPE,
                   canonical: bool = True) -> np.ndarray:
  """float32 (N, 1024) stored embeddings of captions: 'gru_cca' (canonical) rescaled, projected,
  rescaled; 'gru' the GRU's rescaled outputs."""
  raw = rescale(load_text_encoder(recipe).embed(captions))
  return rescale(text_projection(recipe)(raw)) if canonical else raw



def rescale(embeddings: np.ndarray) -> np.ndarray:
  """Each row to L2 norm sqrt(dim) (zero rows stay zero)."""
  norm = np.linalg.norm(embeddings, axis=-1, keepdims=True)
  scale = np.sqrt(embeddings.shape[-1]) / np.maximum(norm, 1e-12)
  return (embeddings * scale).astype(np.float32)


MULTIHOT_OFFSETS = dict(zip(cd.ATTRIBUTES, np.cumsum([0] + [cd.NUM_VALUES[a]
                                                            for a in cd.ATTRIBUTES])[:-1]))
MULTIHOT_SLOTS = sum(cd.NUM_VALUES.values())


def multihot_embeddings(attributes: dict, mentions: dict) -> np.ndarray:
  """float32 (N, 10, 1024): each caption's mentioned attribute values, one-hot per attribute."""
  num, per = mentions["class"].shape
  out = np.zeros((num, per, EMBEDDING_DIM), np.float32)
  rows = np.arange(num)
  for attr in cd.ATTRIBUTES:
    slot = MULTIHOT_OFFSETS[attr] + np.asarray(attributes[attr])
    for j in range(per):
      out[rows, j, slot] = mentions[attr][:, j]
  return rescale(out)


def filenames(split: str, num: int) -> list[str]:
  """The names stored in filenames.pickle for captioned_digits: '<split>/<index>'."""
  return [f"{split}/{i:05d}" for i in range(num)]


def embeddings_dir(encoder: str, recipe: EncoderRecipe = DEFAULT_RECIPE) -> pathlib.Path:
  """Where the split folders (StackGAN layout) of an encoder's caption embeddings live."""
  tag = {"multihot": "multihot", "gru": f"gru-{recipe.digest()}",
         "gru_cca": f"gru-{recipe.digest()}-cca{PROJECTION_DIM}-{WHITEN_DIM}"}[encoder]
  return cd.cache_dir() / f"{cd.VERSION}-embeddings-{tag}"


def write_stackgan_split(split_dir: pathlib.Path, names: list[str],
                         embeddings: np.ndarray) -> None:
  """filenames.pickle and char-CNN-RNN-embeddings.pickle (protocol 2, like the published ones)."""
  split_dir = pathlib.Path(split_dir)
  split_dir.mkdir(parents=True, exist_ok=True)
  for name, value in (("filenames.pickle", list(names)),
                      ("char-CNN-RNN-embeddings.pickle", np.asarray(embeddings, np.float32))):
    tmp = split_dir / f"{name}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
      pickle.dump(value, f, protocol=2)
    os.replace(tmp, split_dir / name)


def caption_embeddings(split: str, encoder: str = "gru_cca",
                       recipe: EncoderRecipe = DEFAULT_RECIPE) -> np.ndarray:
  """float32 (N, 10, 1024) embeddings of a captioned_digits split's captions (cached on disk)."""
  if encoder not in ENCODERS:
    raise JaxganError(f"unknown text encoder {encoder!r} (expected {' or '.join(ENCODERS)})")
  data = cd.captioned_digits(split)
  num = len(data["images"])

  def build():
    if encoder == "multihot":
      return multihot_embeddings(data["attributes"], data["mentions"])
    flat = [t for row in data["captions"] for t in row]
    return gru_embeddings(flat, recipe, canonical=encoder == "gru_cca").reshape(
        num, cd.CAPTIONS_PER_IMAGE, -1)
  return _stored_split(embeddings_dir(encoder, recipe) / split, split, num, build)


def _stored_split(split_dir: pathlib.Path, split: str, num: int, build) -> np.ndarray:
  """The embeddings stored in split_dir (StackGAN layout), written from build() first when
  absent; num rows expected."""
  from jaxgan.data.stackgan_files import read_split  # pylint: disable=g-import-not-at-top

  if not (split_dir / "char-CNN-RNN-embeddings.pickle").exists():
    write_stackgan_split(split_dir, filenames(split, num), build())
  names, embeddings = read_split(split_dir)
  if len(names) != num:
    raise JaxganError(f"{split_dir}: {len(names)} embeddings for {num} images; delete the folder")
  return embeddings


def class_swapped_embeddings(split: str, encoder: str = "gru_cca",
                             recipe: EncoderRecipe = DEFAULT_RECIPE) -> np.ndarray:
  """float32 (N, 10, 1024): the embeddings of each caption with its digit word changed
  (`captioned_digits.class_swapped`), stored and cached as `caption_embeddings`' in the split's
  sibling folder '<split>_class_swapped'."""
  if encoder not in ENCODERS:
    raise JaxganError(f"unknown text encoder {encoder!r} (expected {' or '.join(ENCODERS)})")
  data = cd.captioned_digits(split)
  num = len(data["images"])

  def build():
    swapped = cd.class_swapped(split)
    if encoder != "multihot":
      flat = [t for row in swapped["captions"] for t in row]
      return gru_embeddings(flat, recipe, canonical=encoder == "gru_cca").reshape(
          num, cd.CAPTIONS_PER_IMAGE, -1)
    embeddings = multihot_embeddings(data["attributes"], data["mentions"])
    rows = np.arange(num)
    own = MULTIHOT_OFFSETS["class"] + np.asarray(data["attributes"]["class"])
    for j in range(cd.CAPTIONS_PER_IMAGE):  # the class is named in every caption
      value = embeddings[rows, j, own]
      embeddings[rows, j, own] = 0.0
      embeddings[rows, j, MULTIHOT_OFFSETS["class"] + swapped["class"][:, j]] = value
    return embeddings
  return _stored_split(embeddings_dir(encoder, recipe) / f"{split}_class_swapped", split, num,
                       build)


def embed_captions(captions: list[str], encoder: str = "gru_cca",
                   recipe: EncoderRecipe = DEFAULT_RECIPE) -> np.ndarray:
  """float32 (N, 1024) stored-scale embeddings of free text (for `sample --captions`).

  'multihot' parses the attribute words the templates use; unknown words are ignored.
  """
  if encoder in ("gru", "gru_cca"):
    return gru_embeddings(list(captions), recipe, canonical=encoder == "gru_cca")
  if encoder != "multihot":
    raise JaxganError(f"unknown text encoder {encoder!r} (expected {' or '.join(ENCODERS)})")
  return rescale(np.stack([_parse_multihot(text) for text in captions]))


def _parse_multihot(text: str) -> np.ndarray:
  """Best-effort multi-hot of a free caption: first colour word is the stroke colour, a colour
  word right before 'background' / a pattern word is the background."""
  tokens = tokenize(text)
  joined = " " + " ".join(tokens) + " "
  vec = np.zeros(EMBEDDING_DIM, np.float32)
  def put(attr, value):
    vec[MULTIHOT_OFFSETS[attr] + value] = 1.0
  for value, word in enumerate(cd.DIGIT_WORDS):
    if f" {word} " in joined:
      put("class", value)
      break
  pattern_words = {w: i for i, name in enumerate(cd.PATTERN_NAMES) for w in cd._SYNONYMS[name]}
  background_at = set()
  for i, word in enumerate(tokens):
    following = tokens[i + 1] if i + 1 < len(tokens) else ""
    if word in cd.COLOUR_NAMES and (following == "background" or following in pattern_words
                                    or tokens[max(0, i - 2):i] == ["background", "is"]):
      put("background", cd.COLOUR_NAMES.index(word))
      background_at.add(i)
  for i, word in enumerate(tokens):
    if word in cd.COLOUR_NAMES and i not in background_at:
      put("colour", cd.COLOUR_NAMES.index(word))
      break
  for attr, names in (("size", cd.SIZE_NAMES), ("thickness", cd.THICKNESS_NAMES)):
    for value, name in enumerate(names):
      if any(f" {w} " in joined for w in cd._SYNONYMS[name]):
        put(attr, value)
  for value, name in enumerate(cd.PATTERN_NAMES):
    if any(f" {w} " in joined for w in cd._SYNONYMS[name]):
      put("pattern", value)
  for value, name in enumerate(cd.SLANT_NAMES):
    if any(f" {p} " in joined for p in cd._SLANT_PHRASES[name]):
      put("slant", value)
  for value, name in sorted(enumerate(cd.POSITION_NAMES), key=lambda v: -len(v[1])):
    if any(f" {p} " in joined for p in cd._POSITION_PHRASES[name]):
      put("position", value)
      break
  return vec


def test_prompts(num: int, encoder: str = "gru_cca", seed: int = 0,
                 recipe: EncoderRecipe = DEFAULT_RECIPE) -> dict:
  """`num` captions of the captioned_digits 'test' split, for sampling and scoring a generator.

  Drawn without replacement (while num <= 10 N) by a generator seeded with `seed`, each a
  (test image, caption) pair. Returns {'captions': list of str, 'embeddings': float32
  (num, 1024) as stored, 'attributes': {attr: int32 (num,)} of the image the caption was written
  for, 'mentions': {attr: bool (num,)} which of them the caption names, 'image_index': int
  (num,)}: `jaxgan.metrics.captioned.attribute_accuracy(samples, attributes, mentions)` scores
  what a generator made of them.
  """
  if num < 1:
    raise JaxganError(f"need at least one test caption, got {num}")
  data = cd.captioned_digits("test")
  embeddings = caption_embeddings("test", encoder, recipe)
  total = len(data["images"]) * cd.CAPTIONS_PER_IMAGE
  pairs = np.random.default_rng(seed).choice(total, num, replace=num > total)
  image, caption = np.divmod(pairs, cd.CAPTIONS_PER_IMAGE)
  return {"captions": [data["captions"][i][j] for i, j in zip(image, caption)],
          "embeddings": embeddings[image, caption],
          "attributes": {a: data["attributes"][a][image] for a in cd.ATTRIBUTES},
          "mentions": {a: data["mentions"][a][image, caption] for a in cd.ATTRIBUTES},
          "image_index": image}
