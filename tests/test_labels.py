"""The `labels` data set (facade label maps -> rendered facades), its segmenter (pix2pix's
FCN-score), the `segmentation` evaluator and the pix2pix_labels config.

A module fixture points $JAXGAN_CACHE at a fresh directory, shrinks the splits to 60/12 facades
and replaces the segmenter by a tiny one trained on them, so the module runs in seconds; the
real segmenter's accuracy (the ceiling) is a slow test.
"""

import json
import os

import jax
import numpy as np
import pytest

from jaxgan import cli
from jaxgan import data as data_lib
from jaxgan.config import apply_overrides, load_config_file
from jaxgan.data import labels as L
from jaxgan.errors import JaxganError
from jaxgan.metrics import labels_segmenter as S
from jaxgan.train import evaluators

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "configs", "pix2pix_labels.py")
TINY_RECIPE = S.SegmenterRecipe(num_epochs=2, batch_size=20, widths=(4, 8))


def _luma(rgb):
  return np.asarray(rgb, np.float64) @ np.array([0.299, 0.587, 0.114])


def _clear_caches():
  L._cached.cache_clear()
  L._source.cache_clear()
  S._load_cached.cache_clear()
  S._real_test_scores.cache_clear()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
  """A fresh cache, 60 train / 12 test facades, and a tiny segmenter trained on them."""
  patch = pytest.MonkeyPatch()
  cache = tmp_path_factory.mktemp("jaxgan_cache")
  patch.setenv("JAXGAN_CACHE", str(cache))
  patch.setattr(L, "NUM_EXAMPLES", {"train": 60, "test": 12})
  _clear_caches()
  segmenter = S.Segmenter(S.train_segmenter(TINY_RECIPE), TINY_RECIPE)
  patch.setattr(S, "load_segmenter", lambda recipe=None: segmenter)
  yield cache, segmenter
  patch.undo()
  _clear_caches()


# ------------------------------------------------------------------ the data set


@pytest.mark.skipif(not os.environ.get("JAXGAN_SLOW_TESTS"),
                    reason="trains the real segmenter (about a minute of CPU) unless cached; "
                           "set JAXGAN_SLOW_TESTS=1")
def test_the_real_segmenter_reads_real_test_facades():
  # First in the module: the `small` fixture, once set up, patches the segmenter until the end.
  ceiling = S.real_ceiling()
  assert ceiling["pixel_acc"] >= 0.95 and ceiling["class_iou"] >= 0.85, ceiling



def test_rendering_is_deterministic_and_the_splits_are_disjoint():
  maps, images = L.generate("train", 30)
  maps2, images2 = L.generate("train", 30)
  np.testing.assert_array_equal(maps, maps2)
  np.testing.assert_array_equal(images, images2)
  assert maps.shape == (30, 64, 64) and images.shape == (30, 64, 64, 3)
  assert images.dtype == np.uint8 and maps.max() < L.NUM_CLASSES
  assert len({m.tobytes() for m in maps}) == 30  # every building its own layout
  test_maps, _ = L.generate("test", 10)
  train_keys = {m.tobytes() for m in maps}
  assert not any(m.tobytes() in train_keys for m in test_maps)
  # Every class occurs (balconies on some buildings only).
  assert set(np.unique(maps)) == set(range(L.NUM_CLASSES))


def test_the_cache_file_holds_the_split_and_a_damaged_one_is_rendered_again(small):
  cache, _ = small
  maps, images = L.facades("test")
  assert (cache / "labels-v1-test.npz").exists()
  fresh_maps, fresh_images = L.generate("test")
  np.testing.assert_array_equal(maps, fresh_maps)
  np.testing.assert_array_equal(images, fresh_images)
  (cache / "labels-v1-test.npz").write_bytes(b"not an npz")
  L._cached.cache_clear()
  np.testing.assert_array_equal(L.facades("test")[1], fresh_images)
  with pytest.raises(JaxganError, match="splits"):
    L.facades("validation")


def test_inputs_are_the_colour_coded_maps_at_any_allowed_size(small):
  config = load_config_file(CONFIG).data
  source, info = data_lib.load(config, "test")
  assert info.pairing == "paired" and info.shape == info.shape_b == (64, 64, 3)
  maps, images = L.facades("test")
  batch = source.get_batch(np.arange(len(source)))
  np.testing.assert_array_equal(L.decode_map(batch["input"]), maps)
  np.testing.assert_allclose(batch["input"], L.PALETTE[maps] / 127.5 - 1.0)
  np.testing.assert_allclose(batch["target"], images / 127.5 - 1.0, atol=1e-6)
  # Resizing blends colours at the boundaries; decoding takes the nearest class colour.
  blended = 0.8 * L.colour_map(np.array([[1]])) + 0.2 * L.colour_map(np.array([[3]]))
  assert L.decode_map(blended)[0, 0] == 1
  with config.unlocked():
    config.image_size = 16
  small_source, small_info = data_lib.load(config, "test")
  assert small_info.shape == (16, 16, 3)
  small_batch = small_source.get_batch(np.arange(2))
  np.testing.assert_array_equal(L.decode_map(small_batch["input"]), maps[:2, 2::4, 2::4])
  np.testing.assert_allclose(small_batch["target"][0, 0, 0],
                             (images[0, :4, :4] / 127.5 - 1.0).mean(axis=(0, 1)), atol=1e-5)
  for key, value, match in (("image_size", 48, "one of"), ("image_size", 4, "one of"),
                            ("channels", 1, "channels")):
    with config.unlocked():
      config.image_size, config.channels = 16, 3
      config[key] = value
    with pytest.raises(JaxganError, match=match):
      data_lib.load(config, "train")


def _visible_instances(seed):
  """(classes, image, [(cls, y0, y1, x0, x1, mask of the rectangle's pixels of that class)])."""
  rng = np.random.default_rng(seed)
  classes, image = L.render_facade(rng)
  _, rects = L.facade_layout(np.random.default_rng(seed))  # the same draws: the same layout
  out = []
  for cls, y0, y1, x0, x1 in rects:
    mask = classes[y0:y1, x0:x1] == cls
    out.append((cls, y0, y1, x0, x1, mask))
  return classes, _luma(image), out


def _periodic_range(values, positions, period):
  """Range over phases of the mean of `values` grouped by position mod period."""
  means = [values[positions % period == p].mean() for p in range(period)
           if np.any(positions % period == p)]
  return max(means) - min(means)


def test_each_class_region_carries_its_texture():
  """Per building: brick courses on the wall, a light frame around dark glass, plank grooves on
  doors, a bright rail on balconies, a lit top and a shadowed bottom on cornices, a smooth sky."""
  seen = set()
  for seed in range(12):
    classes, luma, instances = _visible_instances((L.SEED, 0, seed))
    wall = classes == L.WALL
    ys, xs = np.nonzero(wall)
    assert _periodic_range(luma[wall], ys, L.BRICK_HEIGHT) > 15  # mortar every 4th row
    for cls, y0, y1, x0, x1, mask in instances:
      h, w = y1 - y0, x1 - x0
      patch = luma[y0:y1, x0:x1]
      if mask.sum() < 6:
        continue
      if cls == L.WINDOW and mask.all():
        ring = np.zeros_like(mask)
        ring[[0, -1]] = ring[:, [0, -1]] = True
        assert patch[ring].mean() > patch[1:-1, 1:-1].mean() + 25, (seed, cls)
      elif cls == L.DOOR:
        rows = patch[2:][mask[2:]]
        cols = np.nonzero(mask[2:])[1]
        assert _periodic_range(rows, cols, L.PLANK_WIDTH) > 20, (seed, cls)
        assert patch[:2].mean() > patch[2:].mean() + 15, (seed, cls)
      elif cls == L.BALCONY and mask[0].all():
        assert patch[0].mean() > patch[1:].mean() + 40, (seed, cls)
      elif cls == L.CORNICE and mask[0].all() and mask[-1].all():
        assert patch[0].mean() > patch[-1].mean() + 60, (seed, cls)
      elif cls == L.BACKGROUND:
        assert np.abs(np.diff(patch, axis=1)).mean() < 3 * L.NOISE, (seed, cls)
        assert patch[-1].mean() > patch[0].mean(), (seed, cls)  # lighter towards the roof
      else:
        continue
      seen.add(cls)
  assert seen == {L.WINDOW, L.DOOR, L.BALCONY, L.CORNICE, L.BACKGROUND}


# ------------------------------------------------------------------ the FCN-score


def test_segmentation_scores_on_hand_cases():
  truth = np.full((2, 4, 4), 1)
  truth[:, 3] = 2  # a quarter of the pixels class 2, the rest class 1
  perfect = S.segmentation_scores(truth, truth)
  assert perfect == {"pixel_acc": 1.0, "class_acc": 1.0, "class_iou": 1.0}
  swapped = np.where(truth == 1, 2, truth)  # every class-1 pixel called 2
  scores = S.segmentation_scores(truth, swapped)
  # pixel: only class 2's quarter right; class: 0 and 1 over the two classes present (the
  # other four are left out); IoU: class 1 0, class 2 8 / 32.
  assert scores["pixel_acc"] == pytest.approx(0.25)
  assert scores["class_acc"] == pytest.approx(0.5)
  assert scores["class_iou"] == pytest.approx((0.0 + 8 / 32) / 2)
  # A class the truth lacks, predicted for half of class 1: it lowers class 1's IoU only.
  partly = truth.copy()
  partly[:, :, :2][truth[:, :, :2] == 1] = 5
  scores = S.segmentation_scores(truth, partly)
  class1 = 12 / 24  # 12 of 24 right, none of the others called 1
  assert scores["class_iou"] == pytest.approx((class1 + 1.0) / 2)
  assert scores["class_acc"] == pytest.approx((0.5 + 1.0) / 2)
  hist = S.confusion_matrix(truth, swapped)
  assert hist[1, 2] == 24 and hist[2, 2] == 8 and hist.sum() == 32  # rows: the truth


def test_mean_gradient_measures_sharpness():
  _, images = L.generate("test", 4)
  images = L.to_model_images(images)
  blurred = (images + np.roll(images, 1, axis=1) + np.roll(images, 1, axis=2)
             + np.roll(images, (1, 1), axis=(1, 2))) / 4
  assert S.mean_gradient(np.zeros_like(images)) == 0.0
  assert S.mean_gradient(blurred) < 0.8 * S.mean_gradient(images)
  # Clipped as saved: values beyond [-1, 1] add nothing.
  assert S.mean_gradient(images * 5) == pytest.approx(S.mean_gradient(np.clip(images * 5, -1, 1)))


def test_segmenter_cache_round_trip_and_sizes(small, monkeypatch):
  cache, _ = small
  recipe = S.SegmenterRecipe(num_epochs=1, batch_size=20, widths=(4, 4), num_train=40)
  trained = S._load_cached(str(S.cache_path(recipe)), recipe)
  assert S.cache_path(recipe).parent == cache and S.cache_path(recipe).exists()
  assert recipe.digest() != S.DEFAULT_RECIPE.digest()
  S._load_cached.cache_clear()
  monkeypatch.setattr(S, "train_segmenter", lambda r: pytest.fail("trained again"))
  loaded = S._load_cached(str(S.cache_path(recipe)), recipe)
  same = jax.tree_util.tree_map(np.array_equal, loaded.params, trained.params)
  assert all(jax.tree_util.tree_leaves(same))
  images = L.split_arrays("test", 32)["target"][:3]
  assert loaded.logits(images).shape == (3, 32, 32, L.NUM_CLASSES)
  for bad in (np.zeros((2, 64, 64, 1)), np.zeros((2, 48, 48, 3)), np.zeros((0, 64, 64, 3))):
    with pytest.raises(JaxganError):
      loaded.predict(bad)


# ------------------------------------------------------------------ the evaluator and the config


def test_segmentation_evaluator_scores_translations_against_the_input_maps(small):
  _, segmenter = small
  split = L.split_arrays("test")
  fn = evaluators.EVALUATORS["segmentation"].fn
  info = data_lib.load(load_config_file(CONFIG).data, "test")[1]
  real = fn({"inputs": split["input"], "samples": split["target"], "targets": split["target"]},
            info)
  expected = segmenter.scores(split["target"], split["classes"])
  assert real["pixel_acc"] == real["real_pixel_acc"] == expected["pixel_acc"]
  assert real["gradient_ratio"] == pytest.approx(1.0)
  # The maps themselves as "translations": flat colours, no texture, a different score.
  flat = fn({"inputs": split["input"], "samples": split["input"], "targets": split["target"]},
            info)
  assert flat["real_pixel_acc"] == expected["pixel_acc"]
  assert flat["pixel_acc"] != expected["pixel_acc"] and flat["gradient_ratio"] < 1.0
  # Scored against the maps the inputs encode: the inputs shuffled, the score changes.
  shuffled = fn({"inputs": split["input"][::-1], "samples": split["target"],
                 "targets": split["target"][::-1]}, info)
  assert shuffled["pixel_acc"] < expected["pixel_acc"]


def test_segmentation_evaluator_is_refused_for_other_data():
  check = evaluators.EVALUATORS["segmentation"].data
  config = load_config_file(os.path.join(REPO, "configs", "pix2pix_photos.py"))
  info = data_lib.load(config.data, "test")[1]
  assert "labels" in check(info)
  assert check(data_lib.DataInfo("labels", "images", (64, 64, 3), pairing="paired",
                                      shape_b=(64, 64, 3))) is None
  with config.unlocked():
    config.evals.segmentation = dict(every=0)
  config = apply_overrides(config, {"data.image_size": "8", "generator.num_downs": "2",
                                    "generator.base_features": "4",
                                    "discriminator.base_features": "4"})
  from jaxgan.train.experiment import Experiment  # pylint: disable=g-import-not-at-top
  with pytest.raises(JaxganError, match="evals.segmentation .segmentation. needs the labels"):
    Experiment(config)


def test_pix2pix_labels_trains_a_step_and_reports_the_fcn_score(small, tmp_path, capsys):
  config = load_config_file(CONFIG)
  assert config.evals.segmentation and config.evals.translation
  assert (config.l1_weight, config.gan_weight, config.optimizer.g.lr, config.optimizer.g.b1) == (
      100.0, 1.0, 2e-4, 0.5)
  workdir = tmp_path / "w"
  overrides = {"steps": 1, "batch_size": 4, "data.image_size": 16, "checkpoint_every": 1,
               "sample_every": 1, "log_every": 1, "eval.num_samples": 8, "eval.batch_size": 4,
               "generator.base_features": 4, "generator.num_downs": 2,
               "discriminator.base_features": 4, "discriminator.receptive_field": 16}
  code = cli.main(["train", "--config", CONFIG, "--workdir", str(workdir), "--no-tensorboard",
                   *[f"--config.{k}={v}" for k, v in overrides.items()]])
  assert code == 0
  with open(workdir / "eval.jsonl", encoding="utf-8") as f:
    scores = [json.loads(line) for line in f][-1]
  for key in ("pixel_acc", "class_acc", "class_iou", "real_pixel_acc", "real_class_iou"):
    assert 0.0 <= scores[key] <= 1.0, (key, scores)
  assert scores["gradient_ratio"] > 0 and scores["l1"] > 0 and scores["num_test"] == 8
  capsys.readouterr()
  assert cli.main(["evaluate", "--workdir", str(workdir)]) == 0
  printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
  assert printed["pixel_acc"] == pytest.approx(scores["pixel_acc"])
