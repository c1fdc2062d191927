"""pytorch-fid's Inception-v3 in Flax, against fixtures made by pytorch-fid 0.3.0 itself.

The real weights are never downloaded: tests/fixtures/make_inception_fixtures.py filled
pytorch-fid's network with jaxgan's seeded numpy stand-in weights and recorded its outputs; here
the same weights are regenerated, converted through the converter's code path (state dict ->
Flax variables) and run by jaxgan. The mutation tests show that each usual porting mistake moves
the output by far more than the 1e-4 tolerance, so the agreement test would catch it.
"""

from __future__ import annotations

import importlib.util
import json
import os

import jax
import numpy as np
import pytest

from jaxgan import cli
from jaxgan.errors import JaxganError
from jaxgan.metrics import fidelity
from jaxgan.metrics import inception as inc
from jaxgan.metrics import inception_weights as weights_lib
from jaxgan.metrics.inception_metrics import InceptionScorer, load_stats, parse_metrics, softmax

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
TOL = 1e-4


@pytest.fixture(scope="module", autouse=True)
def _one_blas_thread():
  """numpy's 2048x2048 eigendecompositions (FID) run ~5x faster on one OpenBLAS thread than on
  two contending with other work on a shared 2-core machine; results are the same."""
  try:
    import threadpoolctl  # pylint: disable=g-import-not-at-top  # scikit-learn's dependency
  except ImportError:
    yield
    return
  with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
    yield


@pytest.fixture(scope="module")
def net_fixture():
  with np.load(os.path.join(FIXTURES, "inception_net.npz")) as data:
    return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def scores_fixture():
  with np.load(os.path.join(FIXTURES, "inception_scores.npz")) as data:
    return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def state_dict(net_fixture):
  return weights_lib.random_state_dict(int(net_fixture["seed"]))


@pytest.fixture(scope="module")
def weights_npz(state_dict, tmp_path_factory):
  path = str(tmp_path_factory.mktemp("weights") / "inception_seeded.npz")
  np.savez(path, **weights_lib.state_dict_to_flat(state_dict))
  return path


@pytest.fixture(scope="module")
def variables(weights_npz):
  # The file path users take: .npz -> load_inception (key and shape checks) -> Flax variables.
  loaded, digest = inc.load_inception(weights_npz)
  assert digest == weights_lib.file_sha256(weights_npz)
  return loaded


_APPLY = {}


def _apply(variables, images, **module_kwargs):
  key = tuple(sorted(module_kwargs.items()))
  if key not in _APPLY:
    _APPLY[key] = jax.jit(inc.InceptionV3(**module_kwargs).apply)
  return [np.asarray(out) for out in _APPLY[key](variables, images)]


def _rel_error(out, ref) -> float:
  """Largest deviation relative to the output's scale (elementwise ratios blow up near 0)."""
  return float(np.abs(out - ref).max() / np.abs(ref).max())


def _float(images):
  return np.asarray(images, np.float32) / np.float32(255.0)  # pytorch-fid's ToTensor()


@pytest.mark.parametrize("name, batch_size", [("small", 3), ("large", 1)])
def test_features_and_logits_match_pytorch_fid(variables, net_fixture, name, batch_size):
  # Through the extractor users get: uint8 in, jitted over the device mesh; 4 'small' images in
  # batches of 3 also check the padding of the last batch.
  extractor = inc.InceptionExtractor(variables, batch_size=batch_size)
  pool3, unbiased = extractor(net_fixture[name])
  assert pool3.shape == (len(net_fixture[name]), 2048) and unbiased.shape[1] == 1008
  assert _rel_error(pool3, net_fixture[f"pool3_{name}"]) < TOL
  # Unbiased logits are the fc without its bias (what the original IS code used).
  bias = variables["params"]["fc"]["bias"]
  assert _rel_error(unbiased + bias, net_fixture[f"logits_{name}"]) < TOL
  if name == "small":
    # The images differ, and so do their features: a collapsed network would pass anything.
    assert _rel_error(pool3[0], pool3[1]) > 0.1
    # Gray images are repeated to RGB (3 images: the compiled batch of 3 again).
    gray = net_fixture["small"][:3, :, :, :1]
    np.testing.assert_allclose(extractor(gray)[0], extractor(np.repeat(gray, 3, -1))[0],
                               rtol=1e-6)
    with pytest.raises(JaxganError, match="uint8"):
      extractor(_float(net_fixture["small"]))
    with pytest.raises(JaxganError, match="shape"):
      extractor(net_fixture["small"][0])


@pytest.mark.parametrize("mistake", [
    {"bn_eps": 1e-5},               # torch's BatchNorm2d default instead of BasicConv2d's 1e-3
    {"pool_counts_pad": True},      # count_include_pad=True, torchvision's unpatched average pool
    {"last_pool": "avg"},           # Mixed_7c pooling with average like the paper, not max
])
def test_each_network_mistake_moves_features_far_beyond_tolerance(variables, net_fixture,
                                                                    mistake):
  images = _float(net_fixture["small"][:1])
  pool3, _, _ = _apply(variables, images, **mistake)
  assert _rel_error(pool3, net_fixture["pool3_small"][:1]) > 30 * TOL


def _align_corners_matrix(in_size, out_size):
  src = np.arange(out_size) * (in_size - 1) / (out_size - 1)
  lo = np.floor(src).astype(int)
  hi = np.minimum(lo + 1, in_size - 1)
  matrix = np.zeros((out_size, in_size))
  matrix[np.arange(out_size), lo] += 1 - (src - lo)
  matrix[np.arange(out_size), hi] += src - lo
  return matrix


@pytest.mark.parametrize("mistake", ["align_corners", "antialias", "bicubic", "transposed"])
def test_each_resize_mistake_moves_features_far_beyond_tolerance(variables, net_fixture, mistake):
  # 'large' is 340x310: shrinking it is where antialiasing matters; the others enlarge a 40x56
  # 'small' image, where corner alignment and the filter matter most.
  name = "large" if mistake == "antialias" else "small"
  image = _float(net_fixture[name][:1])
  ref = net_fixture[f"pool3_{name}"][:1]
  size = (1, inc.INPUT_SIZE, inc.INPUT_SIZE, 3)
  if mistake == "align_corners":
    rows, cols = (_align_corners_matrix(n, inc.INPUT_SIZE) for n in image.shape[1:3])
    resized = np.einsum("pw,nowc->nopc", cols, np.einsum("oh,nhwc->nowc", rows, image))
  elif mistake == "antialias":
    resized = jax.image.resize(image, size, "linear", antialias=True)
  elif mistake == "bicubic":
    resized = jax.image.resize(image, size, "cubic", antialias=False)
  else:  # a wrong layout permutation (e.g. NCHW -> NWHC): the picture arrives transposed
    resized = np.swapaxes(np.asarray(inc.bilinear_resize(image)), 1, 2)
  pool3, _, _ = _apply(variables, np.asarray(resized, np.float32), resize=False)
  assert _rel_error(pool3, ref) > 30 * TOL, mistake
  # ... while the right resize, done outside the network, reproduces the fixture.
  right, _, _ = _apply(variables, np.asarray(inc.bilinear_resize(image)), resize=False)
  assert _rel_error(right, ref) < TOL


def test_resize_matrix_is_torch_bilinear_on_known_values():
  # torch: F.interpolate(tensor([[0., 10.]]), size=4, mode='linear', align_corners=False)
  # -> [0, 2.5, 7.5, 10] (source coordinates -0.25 clamped to 0, 0.25, 0.75, 1.25 clamped to 1).
  matrix = inc._resize_matrix(2, 4)  # pylint: disable=protected-access
  np.testing.assert_allclose(matrix @ np.array([0.0, 10.0]), [0, 2.5, 7.5, 10], atol=1e-6)
  # Shrinking 4 -> 2 without antialiasing interpolates at 0.5 and 2.5: pixels are skipped.
  np.testing.assert_allclose(inc._resize_matrix(4, 2) @ np.array([0.0, 1, 2, 3]), [0.5, 2.5],  # pylint: disable=protected-access
                             atol=1e-6)


def test_fid_matches_pytorch_fid(scores_fixture):
  a, b = scores_fixture["feats_a"], scores_fixture["feats_b"]
  # Full-rank covariances (16 dims, 25 samples): equal to calculate_frechet_distance to 1e-6.
  fid16 = fidelity.frechet_distance(a[:, :16], b[:, :16])
  assert abs(fid16 - float(scores_fixture["fid_16dims"])) / float(scores_fixture["fid_16dims"]) < 1e-6
  # 2048 dims, rank 24: exact by another route, tr sqrt(S1 S2) = the sum of the singular values
  # of A B^T / (n - 1) for the centred feature matrices; scipy's sqrtm in pytorch-fid is only
  # accurate to ~1e-5 on such singular products (it warns so), and so was fidelity.py before it
  # zeroed the eigenvalues below round-off.
  fid = fidelity.frechet_distance(a, b)
  a, b = a.astype(np.float64), b.astype(np.float64)
  ca, cb = (a - a.mean(0)) / np.sqrt(len(a) - 1), (b - b.mean(0)) / np.sqrt(len(b) - 1)
  trace_sqrt = np.linalg.svd(ca @ cb.T, compute_uv=False).sum()
  diff = a.mean(0) - b.mean(0)
  exact = diff @ diff + (ca ** 2).sum() + (cb ** 2).sum() - 2 * trace_sqrt
  assert abs(fid - exact) / exact < 1e-9
  # pytorch-fid's own value is off by 2.1e-5 relative here (its sqrtm), hence the looser bound.
  assert abs(fid - float(scores_fixture["fid"])) / float(scores_fixture["fid"]) < 1e-4


def test_inception_score_matches_the_original_rule(scores_fixture):
  probs = softmax(scores_fixture["unbiased_logits_a"])
  mean, std = fidelity.inception_score(probs, 10)
  assert abs(mean - float(scores_fixture["is_mean"])) / float(scores_fixture["is_mean"]) < 1e-6
  assert abs(std - float(scores_fixture["is_std"])) / float(scores_fixture["is_std"]) < 1e-6
  # 25 samples in 10 splits: np.array_split's chunking (3,3,3,3,3,2,...) gives another score,
  # so the check above pins the rule i*N//10.
  split_scores = []
  for chunk in np.array_split(probs, 10):
    kl = (chunk * (np.log(chunk) - np.log(chunk.mean(0, keepdims=True)))).sum(1)
    split_scores.append(np.exp(kl.mean()))
  assert abs(np.mean(split_scores) - mean) / mean > 1e-4


def _naive_precision_recall(real, fake, k):
  def radii(x):
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    return np.sort(d, axis=1)[:, k]  # column 0 is the point itself
  def inside(q, c, r):
    d = np.sqrt(((q[:, None] - c[None]) ** 2).sum(-1))
    return float(np.mean((d <= r[None]).any(1)))
  return inside(fake, real, radii(real)), inside(real, fake, radii(fake))


def test_precision_recall():
  rng = np.random.default_rng(0)
  real = rng.standard_normal((60, 5))
  # Half the fakes sit on real samples, half far away: precision 1/2; they cover few reals.
  fake = np.concatenate([real[:20] + 1e-3, real[:20] + 100.0])
  precision, recall = fidelity.precision_recall(real, fake, k=3, batch_size=7)
  assert precision == pytest.approx(0.5)
  assert (precision, recall) == pytest.approx(_naive_precision_recall(real, fake, 3))
  other = rng.standard_normal((50, 5)) * 1.5 + 0.5
  assert fidelity.precision_recall(real, other, 3, batch_size=11) == pytest.approx(
      _naive_precision_recall(real, other, 3))
  # k counts neighbours other than the point itself: k=1 with exact duplicates has radius 0.
  twins = np.repeat(real[:10], 2, axis=0)
  assert fidelity.precision_recall(twins, twins + 1e-6, k=1) == (0.0, 0.0)
  with pytest.raises(JaxganError, match="k"):
    fidelity.precision_recall(real, fake, k=40)


def test_weights_path_resolution_and_one_line_errors(weights_npz, monkeypatch, tmp_path):
  monkeypatch.delenv(weights_lib.ENV_VAR, raising=False)
  with pytest.raises(JaxganError) as error:
    inc.load_inception()
  message = str(error.value)
  assert "\n" not in message
  assert weights_lib.WEIGHTS_FILE in message and "jaxgan inception convert" in message
  with pytest.raises(JaxganError, match="does not exist"):
    inc.load_inception(str(tmp_path / "missing.npz"))
  monkeypatch.setenv(weights_lib.ENV_VAR, weights_npz)
  assert weights_lib.resolve_weights_path() == weights_npz
  config = {"eval": {"inception_weights": str(tmp_path / "from_config.npz")}}
  with pytest.raises(JaxganError, match="config key eval.inception_weights"):
    weights_lib.resolve_weights_path(config=config)  # the config key wins over the variable
  bad = tmp_path / "bad.npz"
  np.savez(bad, x=np.zeros(3))
  with pytest.raises(JaxganError, match="arrays missing"):
    inc.load_inception(str(bad))


def test_state_dict_conversion_checks_keys_and_shapes(state_dict):
  broken = dict(state_dict)
  del broken["Mixed_7c.branch_pool.bn.running_var"]
  with pytest.raises(JaxganError, match="missing"):
    weights_lib.state_dict_to_flat(broken)
  broken = dict(state_dict, **{"fc.weight": np.zeros((1000, 2048), np.float32)})
  with pytest.raises(JaxganError, match="fc.weight"):
    weights_lib.state_dict_to_flat(broken)
  flat = weights_lib.state_dict_to_flat(dict(state_dict, **{"fc.num_batches_tracked": 0}))
  kernel = flat["params/Mixed_6b/branch7x7_2/conv/kernel"]  # torch (128, 128, 1, 7)
  assert kernel.shape == (1, 7, 128, 128)
  np.testing.assert_array_equal(kernel[0, 3, 5, 9],
                                state_dict["Mixed_6b.branch7x7_2.conv.weight"][9, 5, 0, 3])


def test_parse_metrics():
  assert parse_metrics("fid, kid,fid") == ("fid", "kid")
  with pytest.raises(JaxganError, match="unknown metric 'lpips'"):
    parse_metrics("fid,lpips")


def test_score_command_and_stats_cache(weights_npz, tmp_path, monkeypatch, capsys):
  monkeypatch.setenv(weights_lib.ENV_VAR, weights_npz)
  monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path / "cache"))
  rng = np.random.default_rng(0)
  # 5 real and 10 fake (IS needs 10 for its 10 splits), all run in batches of 5: one compilation.
  real = rng.integers(0, 256, (5, 12, 12, 3), dtype=np.uint8)
  real_dir = tmp_path / "real"
  real_dir.mkdir()
  from PIL import Image  # pylint: disable=g-import-not-at-top
  for i, image in enumerate(real):
    Image.fromarray(image).save(real_dir / f"{i:02d}.png")
  fake_npz = tmp_path / "fake.npz"
  np.savez(fake_npz, samples=np.concatenate([real, 255 - real]))
  common = ["--batch-size", "5", "--no-progress"]
  assert cli.main(["score", "--real", str(real_dir), "--fake", str(fake_npz), "--metrics",
                   "fid,kid,is,pr", *common]) == 0
  scores = json.loads(capsys.readouterr().out)
  assert scores["n_real"] == 5 and scores["n_fake"] == 10 and scores["kid_subset_size"] == 5
  for key in ("fid", "kid", "kid_std", "is", "is_std", "precision", "recall"):
    assert np.isfinite(scores[key]), key
  assert scores["fid"] > 0 and 1 <= scores["is"] <= 1008
  # Every real image is also a fake one (so inside the fake manifold), as are half the fakes.
  assert scores["recall"] == 1.0 and scores["precision"] >= 0.5
  # The real set's statistics were cached in pytorch-fid's format; FID-only runs read them back
  # without running the network on the real images again.
  (cached,) = (tmp_path / "cache" / "inception_stats").iterdir()
  mu, sigma, n = load_stats(str(cached))
  assert mu.shape == (2048,) and sigma.shape == (2048, 2048) and n == 5
  scorer = InceptionScorer("fid", batch_size=5, progress=False)
  from jaxgan.metrics.image_sets import folder_images  # pylint: disable=g-import-not-at-top
  scorer.features = None  # any feature computation would now fail
  reference = scorer.reference(folder_images(str(real_dir)))
  np.testing.assert_array_equal(reference.mu, mu)
  # The stats file as --real: the real folder against its own statistics is at distance ~0.
  assert cli.main(["score", "--real", str(cached), "--fake", str(real_dir), *common]) == 0
  again = json.loads(capsys.readouterr().out)
  assert again["n_real"] == 5 and abs(again["fid"]) < 1e-6 * np.trace(sigma)


@pytest.mark.parametrize("args, message", [
    (["--real", "MISSING_DIR", "--fake", "FAKE"], "neither a folder"),
    (["--real", "REAL", "--fake", "FAKE", "--metrics", "fid,nope"], "unknown metric 'nope'"),
    (["--real", "REAL", "--fake", "BAD"], "uint8"),
    (["--real", "STATS", "--fake", "FAKE", "--metrics", "fid,kid"], "statistics only"),
    (["--fake", "FAKE", "--metrics", "kid"], "need --real"),
    (["--real", "REAL", "--fake", "FAKE", "--num", "50"], "fewer than the 50"),
])
def test_score_bad_input_is_one_line_exit_1(tmp_path, capsys, monkeypatch, args, message):
  monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path / "cache"))
  monkeypatch.setenv(weights_lib.ENV_VAR, str(tmp_path / "never_read.npz"))
  images = np.zeros((10, 8, 8, 3), np.uint8)
  np.savez(tmp_path / "real.npz", samples=images)
  np.savez(tmp_path / "fake.npz", samples=images)
  np.savez(tmp_path / "bad.npz", samples=images.astype(np.float32))
  np.savez(tmp_path / "stats.npz", mu=np.zeros(2048), sigma=np.eye(2048))
  names = {"REAL": "real.npz", "FAKE": "fake.npz", "BAD": "bad.npz", "STATS": "stats.npz",
           "MISSING_DIR": "missing_dir"}
  args = [str(tmp_path / names[a]) if a in names else a for a in args]
  assert cli.main(["score", *args]) == 1
  captured = capsys.readouterr()
  assert captured.out == ""
  assert captured.err.count("\n") == 1 and message in captured.err, captured.err
  assert not (tmp_path / "cache").exists()


def test_convert_command_errors_are_one_line(tmp_path, capsys):
  assert cli.main(["inception", "convert", str(tmp_path / "missing.pth"),
                   str(tmp_path / "out.npz")]) == 1
  err = capsys.readouterr().err
  assert err.count("\n") == 1 and "no such file" in err
  not_a_pth = tmp_path / "garbage.pth"
  not_a_pth.write_bytes(b"not a state dict")
  assert cli.main(["inception", "convert", str(not_a_pth), str(tmp_path / "out.npz")]) == 1
  err = capsys.readouterr().err
  # Without torch: the install hint; with it: torch cannot read the file. One line either way.
  assert err.count("\n") == 1 and ("needs torch" in err or "not a readable" in err), err
  assert not list(tmp_path.glob("*.npz"))


def _has(module: str) -> bool:
  return importlib.util.find_spec(module) is not None


@pytest.mark.skipif(not (_has("torch") and _has("pytorch_fid")),
                    reason="torch and pytorch_fid are not installed (the fixtures stand in)")
def test_cross_check_with_torch(state_dict, tmp_path):
  """The converter on a real .pth file, and a fresh image through both networks."""
  import torch  # pylint: disable=g-import-not-at-top
  pth = str(tmp_path / "seeded.pth")
  torch.save({k: torch.from_numpy(v) for k, v in state_dict.items()}, pth)
  out = str(tmp_path / "seeded.npz")
  weights_lib.convert_pytorch_fid_weights(pth, out)
  variables, _ = inc.load_inception(out)
  spec = importlib.util.spec_from_file_location(
      "make_inception_fixtures", os.path.join(FIXTURES, "make_inception_fixtures.py"))
  script = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(script)
  model, fc = script._seeded_pytorch_fid(state_dict)  # pylint: disable=protected-access
  image = np.random.default_rng(7).integers(0, 256, (1, 50, 37, 3), dtype=np.uint8)
  pool3, logits, _ = script._run(model, fc, image)  # pylint: disable=protected-access
  ours = _apply(variables, _float(image))
  assert _rel_error(ours[0], pool3) < TOL and _rel_error(ours[1], logits) < TOL


def test_clean_resize_is_pil_bicubic_per_channel_in_float():
  from PIL import Image  # pylint: disable=g-import-not-at-top
  image = np.random.default_rng(0).integers(0, 256, (1, 7, 5, 3), dtype=np.uint8)
  out = inc.clean_resize(image, 11)
  assert out.shape == (1, 11, 11, 3) and out.dtype == np.float32
  for c in range(3):
    plane = Image.fromarray(image[0, :, :, c].astype(np.float32), mode="F").resize((11, 11),
                                                                                   Image.BICUBIC)
    np.testing.assert_array_equal(out[0, :, :, c], np.clip(np.asarray(plane), 0, 255))
  # Bicubic overshoots at edges and is clipped to [0, 255]; it is not the bilinear resize.
  bilinear = np.asarray(inc.bilinear_resize(image.astype(np.float32), 11))
  assert np.abs(out - bilinear).max() > 1.0


_SHARDED = """
import json, sys
import jax, numpy as np
from jaxgan.metrics import inception as inc, inception_weights as w
fixture = np.load(sys.argv[1])
variables = inc.variables_from_state_dict(w.random_state_dict(int(fixture["seed"])))
extractor = inc.InceptionExtractor(variables, batch_size=3)
feats, _ = extractor(fixture["small"][:3])
ref = fixture["pool3_small"][:3]
print(json.dumps({"devices": jax.device_count(), "batch": extractor.batch_size,
                  "rel": float(np.abs(feats - ref).max() / np.abs(ref).max())}))
"""


def test_features_sharded_over_two_devices(tmp_path):
  """The batch split over a 2-device mesh (3 images: one padded) gives pytorch-fid's features."""
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  script = tmp_path / "sharded.py"
  script.write_text(_SHARDED)
  env = dict(os.environ, XLA_FLAGS=(os.environ.get("XLA_FLAGS", "")
                                    + " --xla_force_host_platform_device_count=2"),
             JAX_PLATFORMS="cpu", PYTHONPATH=os.path.dirname(os.path.dirname(__file__)))
  proc = subprocess.run([sys.executable, str(script), os.path.join(FIXTURES, "inception_net.npz")],
                        capture_output=True, text=True, env=env, timeout=600, check=False)
  assert proc.returncode == 0, proc.stderr[-2000:]
  result = json.loads(proc.stdout.strip().splitlines()[-1])
  assert result["devices"] == 2 and result["batch"] == 4  # 3 rounded up to the device count
  assert result["rel"] < TOL
