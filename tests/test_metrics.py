"""Tests of jaxgan.metrics against hand-computed values and the trained digits classifier."""

import jax
import numpy as np
import pytest
import scipy.linalg

from jaxgan.data.embedded import POINT_MIXTURES, digits_arrays
from jaxgan.errors import JaxganError
from jaxgan.metrics import (
    ClassifierRecipe,
    digits_metrics,
    frechet_distance,
    frechet_distance_from_moments,
    inception_score,
    kernel_distance,
    load_digits_classifier,
    mode_metrics,
    real_digits_reference,
    train_digits_classifier,
)
from jaxgan.metrics import digits_classifier


# ---------------------------------------------------------------------------------------------
# Mode coverage on point mixtures.


def test_mode_metrics_counts_three_ring_modes_and_outliers():
  mixture = POINT_MIXTURES["ring8"]
  std = mixture.std
  # 10 samples on each of modes 0, 1, 2, offset by 2 std (high quality), and 10 outliers: 5 far
  # away, 5 at 4 std from mode 5 (nearest mode is 5, but not high quality, so 5 is not covered).
  direction = np.array([0.6, 0.8])
  on_modes = np.concatenate([np.repeat(mixture.modes[i : i + 1], 10, 0) + 2 * std * direction
                             for i in range(3)])
  far = np.full((5, 2), 10.0)
  near_miss = np.repeat(mixture.modes[5:6], 5, 0) + 4 * std * direction
  samples = np.concatenate([on_modes, far, near_miss])
  result = mode_metrics(samples, mixture.modes, std)
  assert result == {"modes_covered": 3.0, "high_quality_fraction": 30 / 40}


def test_mode_metrics_threshold_is_three_std_of_the_nearest_mode():
  mixture = POINT_MIXTURES["grid25"]
  std = mixture.std
  inside = mixture.modes[:4] + np.array([2.99 * std, 0.0])
  outside = mixture.modes[4:8] + np.array([0.0, 3.01 * std])
  result = mode_metrics(np.concatenate([inside, outside]), mixture.modes, std)
  assert result == {"modes_covered": 4.0, "high_quality_fraction": 0.5}


def test_mode_metrics_on_real_mixture_samples_cover_everything():
  for mixture in POINT_MIXTURES.values():
    samples = mixture.sample(2500, np.random.default_rng(0))
    result = mode_metrics(samples, mixture.modes, mixture.std)
    assert result["modes_covered"] == len(mixture.modes)
    # Within 3 std in 2-D: P(chi2_2 <= 9) = 1 - exp(-4.5) = 0.9889.
    assert abs(result["high_quality_fraction"] - (1 - np.exp(-4.5))) < 0.01


def test_mode_metrics_nan_samples_are_low_quality_and_bad_shapes_raise():
  modes = POINT_MIXTURES["ring8"].modes
  samples = np.stack([modes[0], [np.nan, 0.0]])
  assert mode_metrics(samples, modes, 0.01) == {"modes_covered": 1.0,
                                                "high_quality_fraction": 0.5}
  with pytest.raises(JaxganError):
    mode_metrics(np.zeros((4, 3)), modes, 0.01)
  with pytest.raises(JaxganError):
    mode_metrics(np.zeros((4, 2)), modes, 0.0)


# ---------------------------------------------------------------------------------------------
# Fréchet distance.


def test_frechet_distance_from_moments_diagonal_closed_form():
  mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
  var1, var2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
  expected = np.sum((mu1 - mu2) ** 2) + np.sum(var1 + var2 - 2 * np.sqrt(var1 * var2))
  # = 5 + (1 + 9 - 6) + (4 + 1 - 4) + 0 = 10
  assert expected == 10.0
  got = frechet_distance_from_moments(mu1, np.diag(var1), mu2, np.diag(var2))
  assert got == pytest.approx(10.0, abs=1e-12)


def test_frechet_distance_from_moments_full_covariances_match_sqrtm_formula():
  rng = np.random.default_rng(0)
  a, b = rng.standard_normal((5, 5)), rng.standard_normal((5, 5))
  sigma1, sigma2 = a @ a.T, b @ b.T
  mu1, mu2 = rng.standard_normal(5), rng.standard_normal(5)
  covmean = scipy.linalg.sqrtm(sigma1 @ sigma2).real
  expected = (np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2)
              - 2 * np.trace(covmean))
  assert frechet_distance_from_moments(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, 1e-9)
  # Symmetric, and zero against itself even for a singular covariance.
  assert frechet_distance_from_moments(mu2, sigma2, mu1, sigma1) == pytest.approx(expected, 1e-9)
  singular = np.outer(a[0], a[0])
  assert frechet_distance_from_moments(mu1, singular, mu1, singular) == pytest.approx(0, abs=1e-9)


def test_frechet_distance_of_samples():
  rng = np.random.default_rng(0)
  feats = rng.standard_normal((500, 8))
  assert frechet_distance(feats, feats) == pytest.approx(0.0, abs=1e-9)
  # Two large Gaussian samples: N(0, I) and N(m, diag(4)) in 4-D, closed form
  # |m|^2 + sum(1 + 4 - 2*2) = 4 * 0.25 + 4 = 5.
  a = rng.standard_normal((100_000, 4))
  b = 0.5 + 2.0 * rng.standard_normal((100_000, 4))
  assert frechet_distance(a, b) == pytest.approx(5.0, abs=0.05)
  with pytest.raises(JaxganError):
    frechet_distance(a, b[:, :3])


# ---------------------------------------------------------------------------------------------
# KID.


def test_kernel_distance_matches_explicit_unbiased_mmd():
  rng = np.random.default_rng(1)
  x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 3)) + 0.3
  kernel = lambda u, v: (u @ v / 3 + 1) ** 3
  m = len(x)
  xx = sum(kernel(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
  yy = sum(kernel(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
  xy = sum(kernel(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
  kid, kid_std = kernel_distance(x, y, num_subsets=3, subset_size=m)
  # Subsets of the whole set are permutations of it, so every estimate is the same number.
  assert kid == pytest.approx(xx + yy - 2 * xy, rel=1e-12)
  assert kid_std == pytest.approx(0.0, abs=1e-12)


def test_kernel_distance_near_zero_for_one_distribution_positive_for_shifted():
  rng = np.random.default_rng(2)
  a, b = rng.standard_normal((2000, 16)), rng.standard_normal((2000, 16))
  same, same_std = kernel_distance(a, b, num_subsets=20, subset_size=500)
  shifted, _ = kernel_distance(a, b + 0.5, num_subsets=20, subset_size=500)
  assert abs(same) < 3 * same_std + 1e-3
  assert shifted > 0.1 and shifted > 50 * abs(same)
  # Deterministic in the seed.
  assert kernel_distance(a, b, 5, 100, seed=3) == kernel_distance(a, b, 5, 100, seed=3)


# ---------------------------------------------------------------------------------------------
# Inception Score.


def test_inception_score_bounds():
  k = 10
  uniform = np.full((100, k), 1.0 / k)
  assert inception_score(uniform) == pytest.approx((1.0, 0.0))
  # Every split of 10 rows holds each class once: confident and evenly spread, IS = K.
  one_hot = np.tile(np.eye(k), (10, 1))
  assert inception_score(one_hot, num_splits=10) == pytest.approx((k, 0.0))
  # All samples confidently the same class: no diversity, IS = 1.
  collapsed = np.tile(np.eye(k)[:1], (100, 1))
  assert inception_score(collapsed) == pytest.approx((1.0, 0.0))
  # Half the classes, evenly: IS = K/2.
  half = np.tile(np.eye(k)[: k // 2], (20, 1))
  assert inception_score(half, num_splits=10)[0] == pytest.approx(k / 2)
  with pytest.raises(JaxganError):
    inception_score(uniform[:5], num_splits=10)


# ---------------------------------------------------------------------------------------------
# The digits classifier and the digits metrics.


@pytest.fixture(scope="module")
def classifier_cache(tmp_path_factory):
  """A fresh cache directory for this module: the classifier trains once, here. Module scope, so
  $JAXGAN_CACHE is restored before the worker's next module (session scope left it pointing here,
  and a later StackGAN test rebuilt the captioned data, text encoder and reader: 245-700 s)."""
  path = tmp_path_factory.mktemp("jaxgan_cache")
  with pytest.MonkeyPatch.context() as patch:
    patch.setenv("JAXGAN_CACHE", str(path))
    yield path


@pytest.fixture(scope="module")
def classifier(classifier_cache):
  return load_digits_classifier()


def test_classifier_accuracy_and_cache_file(classifier, classifier_cache):
  images, labels = digits_arrays("test")
  accuracy = classifier.accuracy(images, labels)
  assert accuracy >= 0.97
  files = list(classifier_cache.glob("digits_classifier-*.msgpack"))
  assert [f.name for f in files] == [digits_classifier.cache_path().name]


def test_classifier_cache_round_trip(classifier, monkeypatch):
  # Drop the in-memory copy: the next load must read the file, not train again.
  digits_classifier._load_cached.cache_clear()
  monkeypatch.setattr(digits_classifier, "train_digits_classifier",
                      lambda recipe: pytest.fail("trained again"))
  loaded = load_digits_classifier()
  assert loaded is not classifier
  same = jax.tree_util.tree_map(np.array_equal, loaded.params, classifier.params)
  assert all(jax.tree_util.tree_leaves(same))


def test_training_is_deterministic():
  recipe = ClassifierRecipe(num_epochs=1, num_train=256, widths=(4, 8, 8), feature_dim=16)
  first, second = train_digits_classifier(recipe), train_digits_classifier(recipe)
  same = jax.tree_util.tree_map(np.array_equal, first, second)
  assert all(jax.tree_util.tree_leaves(same))
  assert recipe.digest() != ClassifierRecipe().digest()


def test_damaged_cache_file_is_retrained_and_replaced(tmp_path, monkeypatch):
  monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path))
  recipe = ClassifierRecipe(num_epochs=1, num_train=128, widths=(4, 8, 8), feature_dim=16)
  path = digits_classifier.cache_path(recipe)
  assert path.parent == tmp_path
  path.write_bytes(b"not msgpack")
  trained = load_digits_classifier(recipe)
  digits_classifier._load_cached.cache_clear()
  reloaded = load_digits_classifier(recipe)
  same = jax.tree_util.tree_map(np.array_equal, trained.params, reloaded.params)
  assert all(jax.tree_util.tree_leaves(same))


def test_classifier_outputs_any_resolution_and_rgb(classifier):
  images, _ = digits_arrays("test")
  images = images[:7]
  logits, feats = classifier.logits_and_features(images)
  assert logits.shape == (7, 10) and feats.shape == (7, classifier.recipe.feature_dim)
  np.testing.assert_allclose(classifier.probs(images).sum(axis=1), 1.0, rtol=1e-6)
  rgb = np.repeat(images, 3, axis=-1)
  np.testing.assert_allclose(classifier.logits(rgb), logits, rtol=1e-5, atol=1e-5)
  big = np.asarray(jax.image.resize(images, (7, 32, 32, 1), "linear"))
  np.testing.assert_allclose(classifier.logits(big), logits, rtol=1e-4, atol=1e-4)
  # More images than one batch: same answers as one at a time.
  many = np.tile(images, (80, 1, 1, 1))
  np.testing.assert_allclose(classifier.features(many)[-7:], feats, rtol=1e-5, atol=1e-5)
  with pytest.raises(JaxganError):
    classifier.logits(images[..., 0])


def test_digits_metrics_on_real_digits(classifier):
  images, labels = digits_arrays("test")
  real = digits_metrics(images, labels)
  assert set(real) == {"fd", "kid", "kid_std", "is", "is_std", "label_accuracy",
                       "confident_fraction", "nn_ratio", "near_copy_fraction"}
  assert real["label_accuracy"] >= 0.95
  assert real["confident_fraction"] >= 0.95  # real digits are well formed
  shuffled = np.random.default_rng(0).permutation(labels)
  assert digits_metrics(images, shuffled)["label_accuracy"] < 0.3
  # Uniform noise is far from digits by every measure.
  noise = np.random.default_rng(0).uniform(-1, 1, images.shape).astype(np.float32)
  fake = digits_metrics(noise)
  assert "label_accuracy" not in fake
  assert fake["fd"] > 20 * real["fd"]
  assert fake["kid"] > 20 * max(real["kid"], real["kid_std"])
  assert fake["is"] < real["is"]
  # Half-and-half blends of two different digits are malformed: the classifier is unsure.
  other = np.roll(images, 1, axis=0)
  blends = (images + other)[labels != np.roll(labels, 1)] / 2
  assert digits_metrics(blends)["confident_fraction"] < 0.5 * real["confident_fraction"]
  # One digit repeated (total mode collapse): IS near 1, much worse than real.
  collapsed = digits_metrics(np.repeat(images[:1], 100, axis=0))
  assert collapsed["is"] == pytest.approx(1.0, abs=1e-3)
  assert collapsed["fd"] > 10 * real["fd"]
  with pytest.raises(JaxganError):
    digits_metrics(images, labels[:5])


def test_confident_fraction_counts_top_probabilities_at_least_the_threshold(monkeypatch):
  """Against hand-made logits: the share of rows whose largest softmax probability is >= 0.9."""
  from jaxgan.metrics import digits as digits_lib  # pylint: disable=g-import-not-at-top
  def row(top, cls):
    r = np.full(10, (1 - top) / 9)
    r[cls] = top
    return r
  # 0.95, 0.901 (just in), 0.89 (out), 0.95 at class 5 (any class counts), 0.5: 3 of 5, twice
  probs = np.stack([row(0.95, 0), row(0.901, 3), row(0.89, 1), row(0.95, 5), row(0.5, 9)] * 2)
  logits = np.log(probs)

  class Fake:
    def logits_and_features(self, images):
      return logits, np.random.default_rng(0).normal(size=(len(images), 4))

  monkeypatch.setattr(digits_lib, "load_digits_classifier", Fake)
  monkeypatch.setattr(digits_lib, "_real_features",
                      lambda c, s: np.random.default_rng(1).normal(size=(600, 4)))
  monkeypatch.setattr(digits_lib, "KID_SUBSET_SIZE", 5)
  images = np.zeros((10, 8, 8, 1), np.float32)
  assert digits_lib.digits_metrics(images)["confident_fraction"] == pytest.approx(0.6)


def test_nearest_distances_is_brute_force_rms():
  from jaxgan.metrics.digits import nearest_distances  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  queries, reference = rng.normal(size=(7, 12)), rng.normal(size=(9, 12))
  brute = np.sqrt(((queries[:, None] - reference[None]) ** 2).mean(-1)).min(1)
  np.testing.assert_allclose(nearest_distances(queries, reference), brute, rtol=1e-6)


def test_near_copy_metrics_flag_training_digits_not_new_ones():
  from jaxgan.data import resize_images  # pylint: disable=g-import-not-at-top
  from jaxgan.metrics.digits import near_copy_metrics  # pylint: disable=g-import-not-at-top
  train, _ = digits_arrays("train")
  test, _ = digits_arrays("test")
  # Held-out digits are the yardstick: ratio 1, none closer than the closest of them.
  assert near_copy_metrics(test) == {"nn_ratio": pytest.approx(1.0), "near_copy_fraction": 0.0}
  # Training digits, at the data pipeline's 32x32 or slightly perturbed, are copies.
  copies = near_copy_metrics(resize_images(train[:200], 32))
  assert copies["near_copy_fraction"] == 1.0 and copies["nn_ratio"] < 1e-3
  noisy = np.clip(train[:200] + np.random.default_rng(0).normal(0, 0.05, train[:200].shape),
                  -1, 1)
  assert near_copy_metrics(noisy)["near_copy_fraction"] > 0.9
  # Grey RGB copies are copies too.
  assert near_copy_metrics(np.repeat(train[:50], 3, axis=-1))["near_copy_fraction"] == 1.0
  # Training digits shifted by a pixel are not copies, and far from the training set.
  shifted = near_copy_metrics(np.roll(train[:200], 1, axis=2))
  assert shifted["near_copy_fraction"] < 0.05 and shifted["nn_ratio"] > 1.0


def test_real_digits_reference(classifier):
  ref = real_digits_reference()
  assert set(ref) == {"fd", "kid", "kid_std", "is", "is_std", "test_accuracy"}
  assert ref["test_accuracy"] >= 0.97
  assert 0 <= ref["fd"] < 1.0
  assert abs(ref["kid"]) < 0.05
  assert 5.0 < ref["is"] <= 10.0
  ref["fd"] = -1.0  # callers get a copy; the cached reference stays intact
  assert real_digits_reference()["fd"] >= 0
