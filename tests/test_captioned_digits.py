"""captioned_digits: determinism, the split, attributes in pictures and captions, the loader."""

from __future__ import annotations

import pathlib
import types

import numpy as np
import pytest

from jaxgan.data import captioned_digits as cd
from jaxgan.data.embedded import digits_arrays
from jaxgan.errors import JaxganError
from jaxgan.metrics.captioned import decolour
from jaxgan.text import encoder as text_encoder

TRAIN_SOURCES, TEST_SOURCES = 150, 100
CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(scope="module")
def train():
  return cd.generate("train", num_sources=TRAIN_SOURCES)


@pytest.fixture(scope="module")
def test():
  return cd.generate("test", num_sources=TEST_SOURCES)


@pytest.fixture
def small_cache(monkeypatch, tmp_path):
  """A fresh $JAXGAN_CACHE where a 'whole split' is the first 12 source digits (fast)."""
  monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path))
  full = cd.generate
  calls = []

  def small(split, num_sources=None):
    calls.append(split)
    return full(split, num_sources=12)

  monkeypatch.setattr(cd, "generate", small)
  cd._cached.cache_clear()
  cd._source.cache_clear()
  yield calls
  cd._cached.cache_clear()
  cd._source.cache_clear()


def _digits(split):
  return (digits_arrays(split)[0][..., 0] + 1.0) / 2.0


def test_same_arrays_twice(test):
  again = cd.generate("test", num_sources=TEST_SOURCES)
  np.testing.assert_array_equal(again["images"], test["images"])
  assert again["captions"] == test["captions"]
  for attr in cd.ATTRIBUTES:
    np.testing.assert_array_equal(again["attributes"][attr], test["attributes"][attr])
    np.testing.assert_array_equal(again["mentions"][attr], test["mentions"][attr])


def test_shapes_and_types(train):
  n = TRAIN_SOURCES * cd.RENDERS["train"]
  assert train["images"].shape == (n, 64, 64, 3) and train["images"].dtype == np.uint8
  assert len(train["captions"]) == n and {len(c) for c in train["captions"]} == {10}
  assert all(isinstance(t, str) for row in train["captions"] for t in row)
  for attr in cd.ATTRIBUTES:
    values = train["attributes"][attr]
    assert values.shape == (n,) and values.dtype == np.int32
    assert train["mentions"][attr].shape == (n, 10)
  np.testing.assert_array_equal(train["source_index"],
                                np.repeat(np.arange(TRAIN_SOURCES), cd.RENDERS["train"]))


def test_renders_of_one_source_differ(train):
  per = cd.RENDERS["train"]
  attrs = np.stack([train["attributes"][a] for a in cd.ATTRIBUTES[1:]], 1).reshape(-1, per, 7)
  distinct = [len({tuple(r) for r in renders}) for renders in attrs]
  assert np.mean(np.array(distinct) == per) > 0.95


def test_split_is_by_source_digit(train, test):
  """No test image is drawn from a digit the training split renders (compared by pixels)."""
  train_digits = {d.tobytes() for d in _digits("train")[train["source_index"]]}
  test_digits = {d.tobytes() for d in _digits("test")[test["source_index"]]}
  assert train_digits and test_digits and not train_digits & test_digits
  all_train = {d.tobytes() for d in _digits("train")}
  assert not all_train & {d.tobytes() for d in _digits("test")}
  # labels follow their source digits
  np.testing.assert_array_equal(test["attributes"]["class"],
                                digits_arrays("test")[1][test["source_index"]])


def test_every_attribute_value_in_both_splits(train, test):
  for data in (train, test):
    for attr in cd.ATTRIBUTES:
      assert set(np.unique(data["attributes"][attr])) == set(range(cd.NUM_VALUES[attr])), attr
    pairs = set(zip(data["attributes"]["colour"].tolist(),
                    data["attributes"]["background"].tolist()))
    assert pairs <= set(cd.ALLOWED_PAIRS) and len(pairs) > 0.9 * len(cd.ALLOWED_PAIRS)


def test_low_contrast_pairs_are_left_out():
  assert 30 <= len(cd.ALLOWED_PAIRS) < 56
  for fg, bg in cd.ALLOWED_PAIRS:
    assert fg != bg and np.linalg.norm(cd.PALETTE[fg] - cd.PALETTE[bg]) >= cd.MIN_CONTRAST
    assert abs(cd._luma(cd.PALETTE[fg]) - cd._luma(cd.PALETTE[bg])) >= cd.MIN_LUMA_CONTRAST
  names = {(cd.COLOUR_NAMES[f], cd.COLOUR_NAMES[b]) for f, b in cd.ALLOWED_PAIRS}
  assert ("orange", "yellow") not in names  # too close in RGB
  assert ("red", "blue") not in names and ("purple", "red") not in names  # too close in luma
  assert ("white", "black") in names and ("red", "white") in names


def test_captions_mention_what_they_claim(test):
  """The multi-hot parse of each caption's words equals its claimed (attribute, mention) set,
  so every mentioned attribute is named with its value and no other attribute is named."""
  flat = [t for row in test["captions"] for t in row]
  claimed = text_encoder.multihot_embeddings(test["attributes"], test["mentions"])
  parsed = text_encoder.embed_captions(flat, "multihot")
  np.testing.assert_array_equal(parsed, claimed.reshape(len(flat), -1))
  # and a few plain word checks
  for i in range(0, len(test["images"]), 37):
    for j in range(10):
      text = test["captions"][i][j]
      assert cd.DIGIT_WORDS[test["attributes"]["class"][i]] in text.split()
      colour = cd.COLOUR_NAMES[test["attributes"]["colour"][i]]
      if test["mentions"]["colour"][i, j]:
        assert colour in text.split(), text
      mentioned = [a for a in cd.ATTRIBUTES if test["mentions"][a][i, j]]
      if mentioned == ["class"]:
        assert len(text.split()) <= 5, text  # "a red seven"-like: the digit alone


def test_captions_vary_and_sometimes_leave_attributes_out(test):
  for attr in cd.ATTRIBUTES[1:]:
    rate = test["mentions"][attr].mean()
    assert 0.6 < rate < 0.8, (attr, rate)
  assert test["mentions"]["class"].all()
  starts = {row[j].split()[0] for row in test["captions"] for j in range(10)}
  assert len(starts) >= 3  # several templates
  assert all(len(set(row)) >= 8 for row in test["captions"])  # ten different captions


def _ink(data):
  images = data["images"].astype(np.float32) / 127.5 - 1.0
  return decolour(images, data["attributes"]["colour"], data["attributes"]["background"]) > 0.5


def test_size_position_and_slant_are_drawn(test):
  ink = _ink(test)
  attrs = test["attributes"]
  rows, cols = np.mgrid[:64, :64]
  area = ink.sum(axis=(1, 2))
  height = np.array([np.ptp(rows[m]) + 1 for m in ink])
  assert height[attrs["size"] == 1].min() > height[attrs["size"] == 0].max() - 6
  assert height[attrs["size"] == 1].mean() > 1.4 * height[attrs["size"] == 0].mean()
  centre_r = (ink * rows).sum(axis=(1, 2)) / area
  centre_c = (ink * cols).sum(axis=(1, 2)) / area
  cell_r, cell_c = np.divmod(attrs["position"], 3)
  reach = np.array([(64 - cd.GLYPH_EXTENT[s]) / 2 - cd.MARGIN for s in (0, 1)])[attrs["size"]]
  # the ink's centroid sits on its grid cell's centre, which moves further out for small digits
  assert np.abs(centre_r - (31.5 + (cell_r - 1) * reach)).max() < 2.0
  assert np.abs(centre_c - (31.5 + (cell_c - 1) * reach)).max() < 2.0
  assert reach.min() >= 10  # cells at least 10 px apart
  # slant: the ink's row/column covariance (right: the top leans right, cov < 0)
  cov = ((ink * (rows - centre_r[:, None, None]) * (cols - centre_c[:, None, None])).sum((1, 2))
         / ((ink * (rows - centre_r[:, None, None]) ** 2).sum((1, 2))))
  means = [cov[attrs["slant"] == s].mean() for s in range(3)]
  assert means[0] > 0.25 and abs(means[1]) < 0.08 and means[2] < -0.25, means


def test_thickness_changes_the_stroke_for_the_same_digit():
  digits = _digits("test")[:20]
  for digit in digits:
    thin = cd.render(digit, 6, 7, 0, 1, 1, 4, 0)[..., 0] > 128
    thick = cd.render(digit, 6, 7, 1, 1, 1, 4, 0)[..., 0] > 128
    assert thick.sum() > 1.3 * thin.sum()
    assert thin.sum() > 40  # the thin stroke survives erosion


def test_pattern_is_invisible_at_16_but_visible_at_64():
  """The same render with and without a pattern: at 64x64 they differ by >10 grey levels on
  average; after the loader's 64->16 area downscale by less than half a level, and every 4x4 block
  untouched by the stroke is identical."""
  digits = _digits("test")[:5]
  for digit in digits:
    plain = cd.render(digit, 2, 3, 1, 1, 0, 4, 0)
    for pattern in (1, 2):
      other = cd.render(digit, 2, 3, 1, 1, 0, 4, pattern)
      assert np.abs(plain.astype(float) - other).mean() > 10
      small = cd.to_model_images(np.stack([plain, other]), 16) * 127.5
      diff = np.abs(small[0] - small[1])
      assert diff.mean() < 0.5
      assert np.mean(diff.max(-1) < 1e-3) > 0.8
  for pattern in (1, 2):
    texture = cd.pattern_texture(pattern)
    assert texture.std() > 15 and np.abs(texture.reshape(16, 4, 16, 4).mean((1, 3))).max() == 0


def test_deskew_makes_upright_upright():
  """Upright renders of heavily slanted source digits have little slant left."""
  digits = _digits("train")
  rows, cols = np.mgrid[:8, :8]
  skew = np.array([((d * (rows - (d * rows).sum() / d.sum()) * (cols - (d * cols).sum() / d.sum()))
                    .sum() / (d * (rows - (d * rows).sum() / d.sum()) ** 2).sum()) for d in digits])
  slanted = digits[np.argsort(-np.abs(skew))[:10]]
  rows, cols = np.mgrid[:64, :64]
  for digit in slanted:
    ink = cd.render(digit, 6, 7, 1, 1, 1, 4, 0)[..., 0] > 128
    r, c = rows[ink], cols[ink]
    assert abs(((r - r.mean()) * (c - c.mean())).mean() / r.var()) < 0.1


def test_cache_round_trip_and_errors(small_cache):
  first = cd.captioned_digits("test")
  assert small_cache == ["test"] and cd.cache_path("test").exists()
  assert cd.VERSION in cd.cache_path("test").name
  cd._cached.cache_clear()
  again = cd.captioned_digits("test")  # from the .npz, not rendered again
  assert small_cache == ["test"]
  np.testing.assert_array_equal(again["images"], first["images"])
  assert again["captions"] == first["captions"]
  for attr in cd.ATTRIBUTES:
    np.testing.assert_array_equal(again["attributes"][attr], first["attributes"][attr])
    np.testing.assert_array_equal(again["mentions"][attr], first["mentions"][attr])
  with pytest.raises(JaxganError, match="unknown captioned_digits split"):
    cd.captioned_digits("validation")


def _config(size, encoder="multihot", channels=3, backgrounds=""):
  values = {"channels": channels, "text_encoder": encoder, "backgrounds": backgrounds}
  return types.SimpleNamespace(name="captioned_digits", image_size=size,
                               get=lambda key, default: values.get(key, default))


def test_load_examples(small_cache):
  source, info = cd.load(_config(16), "train")
  data = cd.captioned_digits("train")
  n = len(data["images"])
  assert len(source) == 10 * n
  assert info.kind == "images" and info.shape == (16, 16, 3) and info.num_classes == 10
  assert info.embedding_dim == 1024 and info.captions_per_image == 10
  embeddings = text_encoder.caption_embeddings("train", "multihot")
  batch = source.get_batch(np.array([0, 9, 10, 10 * n - 1]))
  assert batch["image"].shape == (4, 16, 16, 3) and batch["image"].dtype == np.float32
  assert batch["embedding"].shape == (4, 1024) and batch["embedding"].dtype == np.float32
  np.testing.assert_array_equal(batch["embedding"][1], embeddings[0, 9])
  np.testing.assert_array_equal(batch["embedding"][2], embeddings[1, 0])
  np.testing.assert_array_equal(batch["embedding"][3], embeddings[n - 1, 9])
  np.testing.assert_array_equal(batch["label"], data["attributes"]["class"][[0, 0, 1, n - 1]])
  full = cd.to_model_images(data["images"][:1], 64)
  np.testing.assert_allclose(batch["image"][0], full[0].reshape(16, 4, 16, 4, 3).mean((1, 3)),
                             atol=1e-5)
  assert -1.0 <= batch["image"].min() and batch["image"].max() <= 1.0
  example = source[13]
  np.testing.assert_array_equal(example["embedding"], embeddings[1, 3])
  native, _ = cd.load(_config(64), "train")  # kept as uint8, converted per batch
  assert native.images.dtype == np.uint8
  image = native.get_batch(np.array([10]))["image"]
  assert image.dtype == np.float32 and image.shape == (1, 64, 64, 3)
  np.testing.assert_allclose(image[0], data["images"][1] / 127.5 - 1.0, atol=1e-6)
  np.testing.assert_allclose(image[0].reshape(16, 4, 16, 4, 3).mean((1, 3)),
                             source.get_batch(np.array([10]))["image"][0], atol=1e-5)


def test_load_errors(small_cache):
  with pytest.raises(JaxganError, match="must divide 64"):
    cd.load(_config(24), "train")
  with pytest.raises(JaxganError, match="channels must be 3"):
    cd.load(_config(64, channels=1), "train")
  with pytest.raises(JaxganError, match="unknown text encoder"):
    cd.load(_config(64, encoder="bert"), "train")


def test_backgrounds_keep_only_the_named_colours(small_cache):
  """data.backgrounds keeps the images on the named background colours, each image with its
  own embeddings and label. Mutations caught: the filter ignored (all images kept), the
  embeddings or labels not filtered with the images (rows of other images), one name of a list
  dropped."""
  data = cd.captioned_digits("train")
  background = data["attributes"]["background"]
  names = "blue, white"
  kept = np.flatnonzero(np.isin(background, [cd.COLOUR_NAMES.index("blue"),
                                             cd.COLOUR_NAMES.index("white")]))
  assert 0 < len(kept) < len(background)
  source, info = cd.load(_config(16, backgrounds=names), "train")
  assert len(source) == 10 * len(kept) and info.shape == (16, 16, 3)
  embeddings = text_encoder.caption_embeddings("train", "multihot")
  batch = source.get_batch(np.arange(len(source)))
  np.testing.assert_array_equal(batch["embedding"], embeddings[kept].reshape(-1, 1024))
  np.testing.assert_array_equal(batch["label"], np.repeat(data["attributes"]["class"][kept], 10))
  np.testing.assert_allclose(batch["image"][::10], cd.to_model_images(data["images"][kept], 16))
  everything, _ = cd.load(_config(16), "train")
  assert len(everything) == 10 * len(background)


def test_backgrounds_bad_values():
  """An unknown colour is one error naming the key and the choices; a non-string is refused by
  the config's rules; the key on another data set is refused. Mutations caught: unknown names
  skipped silently (an empty or partial subset), the rule missing from RULES or accepting any
  type, the key silently ignored by other data sets."""
  import ml_collections  # pylint: disable=g-import-not-at-top
  from jaxgan import config as config_lib  # pylint: disable=g-import-not-at-top
  with pytest.raises(JaxganError, match="data.backgrounds: unknown colour 'pink'.*purple"):
    cd.background_indices("blue,pink")
  assert cd.background_indices("") == tuple(range(len(cd.COLOUR_NAMES)))
  assert cd.background_indices("white,red") == (0, 6)
  config_lib.check_keys(ml_collections.ConfigDict({"data": {"backgrounds": "blue"}}))
  config = ml_collections.ConfigDict({"data": {"backgrounds": 3}})
  with pytest.raises(JaxganError, match="data.backgrounds must be a string"):
    config_lib.check_keys(config)
  other = config_lib.load_config_file(str(CONFIGS / "dcgan_digits.py"))
  other.data.backgrounds = "blue"  # the digits' data set has no background colours
  with pytest.raises(JaxganError, match="data.backgrounds picks captioned_digits'.*data.name is 'digits'"):
    config_lib.validate(other, num_devices=1)
  control = config_lib.load_config_file(str(CONFIGS / "dcgan_captioned_digits.py"))
  control.data.backgrounds = "blue"
  config_lib.validate(control, num_devices=1)


def test_swap_digit_word_mends_the_article():
  """Mutations caught: the article left as it was ('an seven', 'a eight'), every token equal to
  the digit word replaced silently where a caption names it twice, a caption without it let
  through."""
  assert cd.swap_digit_word("an eight on a red background", 8, 7) == "a seven on a red background"
  assert cd.swap_digit_word("a big blue seven at the top", 7, 8) == "a big blue eight at the top"
  assert cd.swap_digit_word("the digit one in red", 1, 0) == "the digit zero in red"
  with pytest.raises(JaxganError, match="names 'seven' 0 times"):
    cd.swap_digit_word("a red two", 7, 3)
  with pytest.raises(JaxganError, match="names 'two' 2 times"):
    cd.swap_digit_word("a two and a two", 2, 3)


def test_class_swapped_captions_differ_in_the_digit_word_only(small_cache):
  """Every caption of the split, swapped: another digit (never the image's own), named where the
  digit word was, every other word as it was (up to the article before it), the wrong digits
  spread over the nine others, and the same draw twice. Mutations caught: the image's own class
  allowed (a shift of 0), the other words changed, an unseeded draw."""
  data = cd.captioned_digits("test")
  swapped = cd.class_swapped("test")
  own = data["attributes"]["class"]
  assert swapped["class"].shape == (len(own), 10) and swapped["class"].dtype == np.int32
  assert (swapped["class"] != own[:, None]).all()
  assert set(np.unique((swapped["class"] - own[:, None]) % 10)) == set(range(1, 10))
  for i, (row, new_row) in enumerate(zip(data["captions"], swapped["captions"])):
    for j, (old, new) in enumerate(zip(row, new_row)):
      a, b = old.split(), new.split()
      assert len(a) == len(b)
      changed = [k for k in range(len(a)) if a[k] != b[k]]
      word = [k for k in changed if a[k] == cd.DIGIT_WORDS[own[i]]]
      assert len(word) == 1 and b[word[0]] == cd.DIGIT_WORDS[swapped["class"][i, j]]
      assert all(a[k] in ("a", "an") and k == word[0] - 1 for k in changed if k != word[0])
  again = cd.class_swapped("test")
  np.testing.assert_array_equal(again["class"], swapped["class"])


def test_wrong_caption_adds_the_class_swapped_embedding(small_cache):
  """'class_swap' and 'mixed' give each example the embedding of its own caption with the digit
  word swapped, and only then. Mutations caught: another caption's row (image or caption index
  off), the field always or never present."""
  values = {"text_encoder": "multihot", "wrong_caption": "class_swap"}
  config = types.SimpleNamespace(name="captioned_digits", image_size=16,
                                 get=lambda key, default: values.get(key, default))
  source, _ = cd.load(config, "train")
  wrong = text_encoder.class_swapped_embeddings("train", "multihot")
  indices = np.array([0, 9, 10, 37])
  batch = source.get_batch(indices)
  np.testing.assert_array_equal(batch["wrong_embedding"], wrong[indices // 10, indices % 10])
  assert "wrong_embedding" not in cd.load(_config(16), "train")[0].get_batch(indices)
  values["wrong_caption"] = "hard"
  with pytest.raises(JaxganError, match="data.wrong_caption must be one of other, class_swap"):
    cd.load(config, "train")


def test_wrong_caption_bad_values():
  """data.wrong_caption is checked by the config's rules (a value outside the three) and by
  validate (only StackGAN on captioned_digits has digit words to swap). Mutations caught: the
  rule missing from RULES, the option accepted on another data set or trainer, where it would be
  ignored."""
  import ml_collections  # pylint: disable=g-import-not-at-top
  from jaxgan import config as config_lib  # pylint: disable=g-import-not-at-top
  with pytest.raises(JaxganError, match="data.wrong_caption"):
    config_lib.check_keys(ml_collections.ConfigDict({"data": {"wrong_caption": "hard"}}))
  stackgan = config_lib.load_config_file(str(CONFIGS / "stackgan_digits.py"))
  stackgan.data.wrong_caption = "mixed"
  config_lib.validate(stackgan, num_devices=1)
  cub = config_lib.load_config_file(str(CONFIGS / "stackgan_cub.py"))
  cub.data.wrong_caption = "class_swap"
  with pytest.raises(JaxganError, match="data.wrong_caption 'class_swap'.*'stackgan_cub'"):
    config_lib.validate(cub, num_devices=1)
  control = config_lib.load_config_file(str(CONFIGS / "dcgan_captioned_digits.py"))
  control.data.wrong_caption = "mixed"
  with pytest.raises(JaxganError, match="trainer 'adversarial'"):
    config_lib.validate(control, num_devices=1)
