"""The caption encoder: tokens, the networks, the loss, a tiny training run, the stored layout.

The full encoder's acceptance check (a linear probe reads every mentioned attribute at >= 0.99)
trains for minutes, so it only runs with JAXGAN_SLOW_TESTS=1 (or from the cache it leaves).
"""

from __future__ import annotations

import dataclasses
import os
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.data import captioned_digits as cd
from jaxgan.text import encoder as E

TINY = dataclasses.replace(E.DEFAULT_RECIPE, num_steps=60, batch_size=32, learning_rate=3e-3,
                           word_dim=16, hidden=16, image_widths=(8, 16, 16), num_train=180)


@pytest.fixture
def small_cache(monkeypatch, tmp_path):
  """A fresh $JAXGAN_CACHE where a 'whole split' is the first 40 source digits."""
  monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path))
  full = cd.generate
  monkeypatch.setattr(cd, "generate", lambda split, num_sources=None: full(split, 40))
  cd._cached.cache_clear()
  E._load_cached.cache_clear()
  E.text_projection.cache_clear()
  yield tmp_path
  cd._cached.cache_clear()
  E._load_cached.cache_clear()
  E.text_projection.cache_clear()


def test_tokens():
  assert E.tokenize("The digit Seven, in red.") == ["the", "digit", "seven", ",", "in", "red", "."]
  vocab = E.build_vocabulary([["a red one", "a blue two ."]])
  assert vocab[:2] == (E.PAD, E.UNK) and list(vocab[2:]) == sorted(vocab[2:])
  ids, lengths = E.encode_tokens(["a red one", "a green one , a", ""], vocab, 4)
  assert ids.shape == (3, 4) and ids.dtype == np.int32
  np.testing.assert_array_equal(lengths, [3, 4, 1])  # cut at max_len; empty -> one UNK
  assert ids[0, 3] == 0 and ids[1, 1] == 1 and ids[2, 0] == 1  # padding; unknown 'green'
  assert [vocab[i] for i in ids[0, :3]] == ["a", "red", "one"]


def test_caption_encoder_shape_padding_and_order():
  model = E.CaptionEncoder(vocab_size=12, word_dim=8, hidden=8)
  ids = jnp.array([[2, 3, 4, 5, 0, 0], [5, 4, 3, 2, 0, 0]], jnp.int32)
  lengths = jnp.array([4, 4], jnp.int32)
  params = model.init(jax.random.PRNGKey(0), ids, lengths)
  out = model.apply(params, ids, lengths)
  assert out.shape == (2, E.EMBEDDING_DIM) and out.dtype == jnp.float32
  # padding is masked: more padding, or garbage after the end, changes nothing
  longer = jnp.concatenate([ids, jnp.full((2, 5), 7, jnp.int32)], axis=1)
  np.testing.assert_allclose(model.apply(params, longer, lengths), out, atol=1e-5)
  # word order matters (a bag of words would give equal rows)
  assert np.abs(np.asarray(out[0] - out[1])).max() > 1e-3


def test_image_encoder_shape():
  model = E.ImageEncoder((8, 16, 16))
  images = jnp.zeros((3, 64, 64, 3))
  params = model.init(jax.random.PRNGKey(0), images)
  assert model.apply(params, images).shape == (3, E.EMBEDDING_DIM)


def test_contrastive_loss_prefers_matched_pairs():
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal((16, 32)), jnp.float32)
  matched = E.contrastive_loss(x, x, 0.1)
  shuffled = E.contrastive_loss(x, x[::-1], 0.1)
  assert float(matched) < 0.1 < 1.0 < float(shuffled)
  y = jnp.asarray(rng.standard_normal((16, 32)), jnp.float32)
  np.testing.assert_allclose(E.contrastive_loss(x, y, 0.1), E.contrastive_loss(y, x, 0.1),
                             rtol=1e-5)  # symmetric in its two sides
  np.testing.assert_allclose(E.contrastive_loss(3 * x, y, 0.1), E.contrastive_loss(x, y, 0.1),
                             rtol=1e-5)  # cosine: the scale of either side does not matter


def test_tiny_training_reduces_the_loss_and_is_deterministic(small_cache):
  params, vocab, losses, seconds = E.train_text_encoder(TINY)
  assert len(losses) == TINY.num_steps and seconds > 0
  assert losses[-10:].mean() < losses[:10].mean() - 0.3, (losses[:10], losses[-10:])
  params2, vocab2, losses2, _ = E.train_text_encoder(TINY)
  assert vocab2 == vocab
  np.testing.assert_array_equal(losses2, losses)
  jax.tree_util.tree_map(np.testing.assert_array_equal, params2, params)


def test_cached_encoder_and_stored_layout(small_cache):
  recipe = dataclasses.replace(TINY, num_steps=4)
  model = E.load_text_encoder(recipe)
  assert E.cache_path(recipe).exists()
  E._load_cached.cache_clear()
  reloaded = E.load_text_encoder(recipe)  # from the file
  assert reloaded.vocabulary == model.vocabulary
  texts = ["a red seven", "the digit two in blue , the background is white dotted"]
  np.testing.assert_allclose(reloaded.embed(texts), model.embed(texts), atol=1e-6)
  embeddings = E.caption_embeddings("test", "gru_cca", recipe)
  n = len(cd.captioned_digits("test")["images"])
  assert embeddings.shape == (n, 10, 1024) and embeddings.dtype == np.float32
  np.testing.assert_allclose(np.linalg.norm(embeddings, axis=-1), 32.0, rtol=1e-4)
  # the published layout: float32 (N, 10, 1024) and N names, readable as Python-2 pickles are
  split_dir = E.embeddings_dir("gru_cca", recipe) / "test"
  with open(split_dir / "char-CNN-RNN-embeddings.pickle", "rb") as f:
    stored = pickle.load(f, encoding="latin1")
  with open(split_dir / "filenames.pickle", "rb") as f:
    names = pickle.load(f, encoding="latin1")
  assert stored.shape == (n, 10, 1024) and stored.dtype == np.float32 and len(names) == n
  assert (split_dir / "filenames.pickle").read_bytes()[:2] == b"\x80\x02"  # protocol 2
  captions = cd.captioned_digits("test")["captions"][0]
  first = E.rescale(E.text_projection(recipe)(E.rescale(model.embed(captions))))
  np.testing.assert_allclose(stored[0], first, atol=1e-4)
  np.testing.assert_allclose(E.embed_captions(captions, "gru_cca", recipe), first, atol=1e-4)
  # 'gru': the raw outputs runs before the projection were trained on, stored apart.
  raw = E.caption_embeddings("test", "gru", recipe)
  np.testing.assert_allclose(raw[0], E.rescale(model.embed(captions)), atol=1e-4)
  np.testing.assert_allclose(E.embed_captions(captions, "gru", recipe), raw[0], atol=1e-4)
  assert E.embeddings_dir("gru", recipe) != E.embeddings_dir("gru_cca", recipe)
  assert E.projection_path(recipe).exists()
  assert not np.any(stored[..., E.PROJECTION_DIM:])  # the canonical coordinates, zero-padded


def test_canonical_projection_picks_the_image_correlated_directions():
  # Text: a high-variance direction the images do not share, a low-variance one they do (as
  # the GRU's class directions), and noise; the projection must keep the second, whitened.
  rng = np.random.default_rng(0)
  n = 4000
  shared, loud = rng.normal(size=n), rng.normal(size=n)
  text = rng.normal(size=(n, 6)) * 0.01
  text[:, 0] += 10.0 * loud
  text[:, 3] += 0.05 * shared
  image = rng.normal(size=(n, 5)) * 0.1
  image[:, 1] += shared
  projection = E.canonical_projection(text, image, dim=1, whiten_dim=6)
  out = projection(text)[:, 0]
  assert abs(np.corrcoef(out, shared)[0, 1]) > 0.95
  assert abs(np.corrcoef(out, loud)[0, 1]) < 0.05
  np.testing.assert_allclose(out.std(), 1.0, rtol=0.02)
  np.testing.assert_allclose(out.mean(), 0.0, atol=0.02)


def test_multihot_layout(small_cache):
  data = cd.captioned_digits("test")
  embeddings = E.caption_embeddings("test", "multihot")
  n = len(data["images"])
  assert embeddings.shape == (n, 10, 1024)
  assert E.MULTIHOT_SLOTS == 45 and not embeddings[..., 45:].any()
  for i in (0, n // 2, n - 1):
    for j in range(10):
      hot = np.nonzero(embeddings[i, j])[0]
      expected = [E.MULTIHOT_OFFSETS[a] + data["attributes"][a][i]
                  for a in cd.ATTRIBUTES if data["mentions"][a][i, j]]
      np.testing.assert_array_equal(hot, sorted(expected))
      np.testing.assert_allclose(np.linalg.norm(embeddings[i, j]), 32.0, rtol=1e-5)
  vec = E.embed_captions(["a big red seven on a white striped background"], "multihot")[0]
  hot = set(np.nonzero(vec)[0])
  assert hot == {E.MULTIHOT_OFFSETS["class"] + 7, E.MULTIHOT_OFFSETS["size"] + 1,
                 E.MULTIHOT_OFFSETS["colour"] + cd.COLOUR_NAMES.index("red"),
                 E.MULTIHOT_OFFSETS["background"] + cd.COLOUR_NAMES.index("white"),
                 E.MULTIHOT_OFFSETS["pattern"] + 1}


def test_class_swapped_multihot_embeddings(small_cache):
  """The multi-hot of a class-swapped caption: the swapped digit's slot where the image's was,
  every other slot as the caption's own. Mutations caught: the own class left on, the swapped
  class at another slot, other attributes changed."""
  data = cd.captioned_digits("test")
  own = E.caption_embeddings("test", "multihot")
  wrong = E.class_swapped_embeddings("test", "multihot")
  swapped = cd.class_swapped("test")["class"]
  offset = E.MULTIHOT_OFFSETS["class"]
  assert wrong.shape == own.shape
  np.testing.assert_array_equal(wrong[..., offset + 10:], own[..., offset + 10:])
  np.testing.assert_array_equal(wrong[..., :offset], own[..., :offset])
  hot = wrong[..., offset:offset + 10]
  assert ((hot > 0).sum(-1) == 1).all()
  np.testing.assert_array_equal(hot.argmax(-1), swapped)
  np.testing.assert_array_equal(own[..., offset:offset + 10].argmax(-1),
                                np.repeat(data["attributes"]["class"][:, None], 10, 1))
  np.testing.assert_allclose(np.linalg.norm(wrong, axis=-1), 32.0, rtol=1e-5)
  again = E.class_swapped_embeddings("test", "multihot")  # from the stored files
  np.testing.assert_array_equal(again, wrong)


def test_prompts(small_cache):
  data = cd.captioned_digits("test")
  prompts = E.test_prompts(25, "multihot", seed=3)
  assert len(prompts["captions"]) == 25 and prompts["embeddings"].shape == (25, 1024)
  assert len(set(zip(prompts["image_index"].tolist(), prompts["captions"]))) == 25
  again = E.test_prompts(25, "multihot", seed=3)
  assert again["captions"] == prompts["captions"]
  np.testing.assert_array_equal(again["embeddings"], prompts["embeddings"])
  # each embedding is the caption's own, and attributes/mentions are its image's
  np.testing.assert_allclose(prompts["embeddings"],
                             E.embed_captions(prompts["captions"], "multihot"), atol=1e-5)
  for k, i in enumerate(prompts["image_index"]):
    assert prompts["captions"][k] in data["captions"][i]
    assert prompts["attributes"]["class"][k] == data["attributes"]["class"][i]
  assert prompts["mentions"]["class"].all() and not prompts["mentions"]["size"].all()
  from jaxgan.errors import JaxganError
  with pytest.raises(JaxganError, match="at least one"):
    E.test_prompts(0, "multihot")


def test_unknown_encoder(small_cache):
  from jaxgan.errors import JaxganError
  with pytest.raises(JaxganError, match="unknown text encoder"):
    E.caption_embeddings("test", "bert")
  with pytest.raises(JaxganError, match="unknown text encoder"):
    E.embed_captions(["a red one"], "bert")


@pytest.mark.skipif(not os.environ.get("JAXGAN_SLOW_TESTS"),
                    reason="trains the full encoder (minutes); set JAXGAN_SLOW_TESTS=1")
def test_full_encoder_is_accepted():
  from jaxgan.text.evaluate import ACCEPT, probe_accuracies, retrieval
  accuracies = probe_accuracies("gru_cca")
  assert min(accuracies.values()) >= ACCEPT, accuracies
  recall = retrieval()
  assert recall["R@5"] >= recall["R@1"] > 0.05, recall
