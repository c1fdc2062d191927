"""pix2pix, CycleGAN and CoGAN through the one loop and the CLI, on tiny sizes.

Every config (embedded, image folders generated here, tfds through tfds.testing.mock_data)
trains a few steps, writes its sample picture and checkpoint, and `jaxgan sample` writes what
the issue lists; a CycleGAN run resumes exactly with both G/D pairs and both history pools in its
checkpoint; the derived data sets are what they claim; bad input fails with one line.
"""

import contextlib
import os

import jax
import numpy as np
import pytest
from PIL import Image

from jaxgan import cli
from jaxgan import data as data_lib
from jaxgan.config import base_config, load_config_file
from jaxgan.data import photos
from jaxgan.data.embedded import digits_arrays
from jaxgan.errors import JaxganError
from jaxgan.train.checkpoints import Checkpointer
from jaxgan.train.experiment import Experiment
from jaxgan.train.loop import train_and_evaluate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TINY = {"steps": 2, "checkpoint_every": 2, "sample_every": 2, "log_every": 1,
        "sample_grid": 2, "eval.num_samples": 12, "eval.batch_size": 8}
PIX2PIX = {"data.image_size": 16, "batch_size": 2, "generator.base_features": 4,
           "discriminator.base_features": 4, "discriminator.receptive_field": 16}
CYCLEGAN = {"data.image_size": 8, "batch_size": 2, "pool_size": 3,
            "generator.base_features": 4, "generator.num_blocks": 1,
            "discriminator.base_features": 4, "discriminator.receptive_field": 16}
COGAN = {"data.image_size": 8, "batch_size": 4, "latent_dim": 4,
         "generator.base_features": 4, "generator.shared_layers": 1,
         "discriminator.base_features": 4, "discriminator.shared_layers": 1}
# The paper's CoGAN nets (cogan_mnist) are built for 28x28 only: narrowed instead.
COGAN_PAPER = {"batch_size": 4, "latent_dim": 4, "generator.features": (4, 4, 2, 2),
               "discriminator.features": (2, 2, 4)}


def make_config(name: str, **overrides):
  config = load_config_file(os.path.join(REPO, "configs", name + ".py"))
  with config.unlocked():
    for key, value in {**TINY, **overrides}.items():
      *parents, leaf = key.split(".")
      node = config
      for p in parents:
        node = node[p]
      node[leaf] = value
  return config


def _save(path, array):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(array).save(path)


def _rgb(h, w, seed):
  return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def side_by_side_folder(root, sizes=((16, 32),), splits=("train", "test"), count=3):
  """pix2pix's format: A (left, 'photo', reddish) | B (right, 'labels', bluish)."""
  for split in splits:
    for i in range(count):
      for h, w in sizes:
        image = _rgb(h, w, i)
        image[:, : w // 2, 0] = 255
        image[:, w // 2:, 2] = 255
        _save(os.path.join(root, split, f"{i}_{w}.png"), image)
  return str(root)


def unpaired_folder(root, size_a=16, size_b=16, count=3):
  for split in ("train", "test"):
    for domain, size in (("A", size_a), ("B", size_b)):
      for i in range(count):
        _save(os.path.join(root, split + domain, f"{i}.png"), _rgb(size, size, i))
  return str(root)


def _tfds_mock():
  tfds = pytest.importorskip("tensorflow_datasets")
  return tfds.testing.mock_data(num_examples=6)


def _one_line(excinfo, *fragments):
  message = str(excinfo.value)
  assert "\n" not in message, message
  for fragment in fragments:
    assert fragment in message, message


# ---------------------------------------------------------------- every config, end to end

def _cycle_outputs(channels: int) -> dict:
  """CycleGAN's sample arrays: each domain's inputs, translations and cycles, (8, 8, C)."""
  names = ("inputs_a", "samples_ab", "cycles_a", "inputs_b", "samples_ba", "cycles_b")
  return {name: (8, 8, channels) for name in names}


CONFIGS = {
    "pix2pix_photos": (PIX2PIX, None, {"inputs": (16, 16, 1), "samples": (16, 16, 3),
                                       "targets": (16, 16, 3)}),
    "pix2pix_facades": ({**PIX2PIX, "batch_size": 1, "augment.load_size": 18}, "facades",
                        {"inputs": (16, 16, 3), "samples": (16, 16, 3), "targets": (16, 16, 3)}),
    "cyclegan_digits": (CYCLEGAN, None, {**_cycle_outputs(1), "labels_a": (), "labels_b": ()}),
    "cyclegan_photos": (CYCLEGAN, None, _cycle_outputs(3)),
    "cyclegan_horse2zebra": ({**CYCLEGAN, "batch_size": 1, "augment.load_size": 10}, "tfds",
                             _cycle_outputs(3)),
    "cogan_digits": (COGAN, None, {"samples_a": (8, 8, 1), "samples_b": (8, 8, 1)}),
    "cogan_mnist": (COGAN_PAPER, "tfds", {"samples_a": (28, 28, 1), "samples_b": (28, 28, 1)}),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_trains_samples_and_evaluates(name, tmp_path, capsys):
  overrides, data, expected = CONFIGS[name]
  overrides = dict(overrides)
  context = contextlib.nullcontext()
  if data == "facades":
    overrides["data.path"] = side_by_side_folder(tmp_path / "facades")
  elif data == "tfds":
    overrides["data.data_dir"] = str(tmp_path / "tfds")
    context = _tfds_mock()
  workdir = str(tmp_path / "run")
  config = make_config(name, **overrides)
  with context:
    train_and_evaluate(config, workdir, tensorboard=False)
    assert os.path.isfile(os.path.join(workdir, "samples", "step_0000002.png"))
    assert os.path.isdir(os.path.join(workdir, "checkpoints", "2"))
    out = str(tmp_path / "samples.npz")
    assert cli.main(["sample", "--workdir", workdir, "--num", "3", "--out", out]) == 0
    with np.load(out) as samples:
      assert sorted(samples.files) == sorted(expected)
      for key, shape in expected.items():
        assert samples[key].shape == (3,) + shape, key
        assert samples[key].dtype == (np.int32 if key.startswith("labels") else np.uint8), key
    can_evaluate = bool(Experiment(config).evaluators)
    code = cli.main(["evaluate", "--workdir", workdir, "--num-samples", "12"])
  captured = capsys.readouterr()
  assert code == (0 if can_evaluate else 1), captured.err
  if can_evaluate:
    assert os.path.isfile(os.path.join(workdir, "eval.jsonl"))


def test_cogan_samples_are_pairs_of_one_latent(tmp_path):
  config = make_config("cogan_digits", **COGAN)
  experiment = Experiment(config)
  trainer, state = experiment.trainer, experiment.init_state()
  one = trainer.sample_outputs(state, 4, seed=3)
  two = trainer.sample_outputs(state, 4, seed=3)
  np.testing.assert_array_equal(one["samples_a"], two["samples_a"])
  z, _ = trainer.latents(jax.random.PRNGKey(3), 4)
  a, b = trainer.generate(state, z)
  np.testing.assert_array_equal(one["samples_b"], np.clip(np.round((b + 1) * 127.5), 0, 255))
  assert a.shape == b.shape == (4, 8, 8, 1)


def test_pix2pix_paper_inference_translates_each_image_alone():
  # The paper's test time is batch size 1 (dropout on, batch norm over the image's own
  # statistics): an image's output must not depend on its batch-mates or the batch size.
  config = make_config("pix2pix_photos", **{**PIX2PIX, "generator.paper_inference": True})
  experiment = Experiment(config)
  trainer, state = experiment.trainer, experiment.init_state()
  x = np.asarray(jax.random.uniform(jax.random.PRNGKey(0), (6, 16, 16, 1), minval=-1.0))
  together = trainer.translate(state, x, seed=0, batch_size=6)
  np.testing.assert_allclose(trainer.translate(state, x, seed=0, batch_size=1), together,
                             atol=1e-5)
  others = np.concatenate([x[:1], -x[1:]])  # the same first image, other batch-mates
  np.testing.assert_allclose(trainer.translate(state, others, seed=0, batch_size=6)[0],
                             together[0], atol=1e-5)
  # Dropout is on: another seed gives another output.
  assert np.max(np.abs(trainer.translate(state, x, seed=1, batch_size=6) - together)) > 1e-2


# ---------------------------------------------------------------- exact resume


def test_cyclegan_resumes_exactly_with_both_pairs_and_pools(tmp_path):
  config = make_config("cyclegan_digits", **CYCLEGAN)
  experiment = Experiment(config)
  host = lambda s: jax.tree_util.tree_map(np.asarray, jax.device_get(s))

  def steps(state, iterator, n):
    for _ in range(n):
      state, _ = experiment.train_step(state, experiment.next_batch(iterator, int(state.step)))
    return state

  iterator = experiment.train_iterator()
  state = steps(experiment.init_state(), iterator, 2)
  checkpointer = Checkpointer(str(tmp_path), keep=2)
  checkpointer.save(2, state, iterator)
  straight = host(steps(state, iterator, 2))

  iterator = experiment.train_iterator()  # a fresh run: position and state from the checkpoint
  restored = checkpointer.restore(2, experiment.abstract_state, iterator)
  pools = restored.extra
  assert int(pools["pool_a"].count) == 3 and int(pools["pool_b"].count) == 3  # full pools
  resumed = host(steps(restored, iterator, 2))
  checkpointer.close()
  assert set(straight.g_params) == {"ab", "ba"} and set(straight.d_params) == {"a", "b"}
  assert np.abs(straight.extra["pool_a"].images).sum() > 0
  for (path, x), y in zip(jax.tree_util.tree_flatten_with_path(straight)[0],
                          jax.tree_util.tree_leaves(resumed)):
    np.testing.assert_array_equal(x, y, err_msg=jax.tree_util.keystr(path))


# ---------------------------------------------------------------- derived data sets


def _data(name, split="train", **keys):
  config = base_config().data
  config.name = name
  for key, value in keys.items():
    config[key] = value
  return data_lib.load(config, split)


def test_digits_negative_domains_are_disjoint_halves():
  source, info = _data("digits_negative", image_size=8, channels=1)
  assert info.pairing == "unpaired" and info.relation == "negative" and info.num_classes == 10
  a = source.source_a.arrays["image"]
  b = source.source_b.arrays["image"]
  digits = digits_arrays("train")[0]
  assert len(a) == len(b) == len(digits) // 2
  np.testing.assert_array_equal(a, digits[:len(a)])
  np.testing.assert_array_equal(-b, digits[len(a):2 * len(a)])  # negatives of the other half
  assert len(a) == len({x.tobytes() for x in a})  # (the digits are distinct)
  shown = {x.tobytes() for x in a}
  assert not any((-x).tobytes() in shown for x in b)  # no digit with its own negative
  batch = source.get_batch(np.arange(5))
  assert sorted(batch) == ["a", "b", "label_a", "label_b"]
  test, _ = _data("digits_negative", "test", image_size=8, channels=1)
  np.testing.assert_array_equal(test.source_b.arrays["image"], -test.source_a.arrays["image"])


def test_photo_patches_hold_out_a_region():
  train = photos.photo_patches("china", "train", 16)
  test = photos.photo_patches("china", "test", 16)
  photo = photos._photos()[0]  # pylint: disable=protected-access
  regions = photos.photo_regions(photo)
  assert regions["train"].shape[0] + regions["test"].shape[0] == photo.shape[0] == 213
  assert train.shape[1:] == test.shape[1:] == (16, 16, 3)
  train_set = {p.tobytes() for p in train}
  assert not any(p.tobytes() in train_set for p in test)
  np.testing.assert_array_equal(test[0], regions["test"][:16, :16])
  with pytest.raises(JaxganError, match="at most 53 pixels"):
    photos.photo_patches("china", "test", 64)


def test_photo_sets():
  source, info = _data("photo_colorization", image_size=16, channels=3)
  assert info.pairing == "paired" and info.shape == (16, 16, 1) and info.shape_b == (16, 16, 3)
  batch = source.get_batch(np.arange(4))
  np.testing.assert_allclose(batch["input"], photos.to_gray(batch["target"]), atol=1e-6)
  source, info = _data("china_flower", image_size=16, channels=3)
  assert info.pairing == "unpaired"
  np.testing.assert_array_equal(source.source_a.arrays["image"],
                                photos.photo_patches("china", "train", 16))
  np.testing.assert_array_equal(source.source_b.arrays["image"],
                                photos.photo_patches("flower", "train", 16))
  source, info = _data("photos", image_size=16, channels=1)
  assert info.pairing == "" and source.get_batch(np.arange(2))["image"].shape == (2, 16, 16, 1)


@pytest.mark.parametrize("direction", ["AtoB", "BtoA"])
def test_side_by_side_folder(tmp_path, direction):
  path = side_by_side_folder(tmp_path / "f")
  source, info = _data("folder", path=path, layout="side_by_side", direction=direction,
                       image_size=8, channels=3)
  assert info.pairing == "paired" and len(source) == 3
  example = source[0]
  left_red = example["input"][..., 0].mean() > example["input"][..., 2].mean()
  assert left_red == (direction == "AtoB")  # AtoB: the left (red) half is the input
  test, _ = _data("folder", "test", path=path, layout="side_by_side", image_size=8, channels=3)
  assert [os.path.basename(os.path.dirname(f)) for f in test.files] == ["test"] * 3


def test_unpaired_folder(tmp_path):
  path = unpaired_folder(tmp_path / "u")
  source, info = _data("folder", path=path, layout="unpaired", image_size=8, channels=3)
  assert info.pairing == "unpaired" and len(source) == 3
  assert sorted(source[1]) == ["a", "b"]


# ---------------------------------------------------------------- bad input, one line


def test_unpaired_folders_of_different_sizes(tmp_path):
  path = unpaired_folder(tmp_path / "u", size_a=16, size_b=12)
  with pytest.raises(JaxganError) as excinfo:
    _data("folder", path=path, layout="unpaired", image_size=8, channels=3)
  _one_line(excinfo, "different sizes", "16x16", "12x12")


def test_paired_image_not_twice_as_wide(tmp_path, capsys):
  path = side_by_side_folder(tmp_path / "f", sizes=((16, 32), (16, 20)))
  with pytest.raises(JaxganError) as excinfo:
    _data("folder", path=path, layout="side_by_side", image_size=8, channels=3)
  _one_line(excinfo, "is 20x16", "twice the height")
  code = cli.main(["train", "--config", os.path.join(REPO, "configs", "pix2pix_facades.py"),
                   "--workdir", str(tmp_path / "run"), f"--config.data.path={path}"])
  err = capsys.readouterr().err
  assert code == 1 and err.startswith("jaxgan: error: paired image") and err.count("\n") == 1
  assert not os.path.exists(tmp_path / "run")


@pytest.mark.parametrize("name,overrides,fragments", [
    ("dcgan_digits", {"data.name": "digits_negative"},
     ["'adversarial' trainer needs one image per example", "unpaired images of two domains"]),
    ("pix2pix_photos", {"data.name": "digits"}, ["'pix2pix' trainer needs paired"]),
    ("cyclegan_photos", {"data.name": "photo_colorization"}, ["needs unpaired images"]),
    ("pix2pix_photos", {"discriminator.receptive_field": 50}, ["receptive field must be one of"]),
    ("pix2pix_photos", {"discriminator.receptive_field": 70},
     ["70x70 PatchGAN needs images larger than 16x16"]),
    ("pix2pix_photos", {"data.image_size": 64}, ["at most 53 pixels"]),
    ("pix2pix_photos", {"n_critic": 2}, ["n_critic must be 1"]),
    ("cyclegan_digits", {"data.image_size": 6}, ["divisible by 4"]),
    ("cogan_digits", {"generator.shared_layers": 2}, ["can share 0 to 1"]),
    ("pix2pix_facades", {"data.direction": "AB"}, ["data.direction must be 'AtoB' or 'BtoA'"]),
    ("cyclegan_digits", {"data.layout": "unpaired"}, ["is for data.name='folder'"]),
    ("cyclegan_digits", {"optimizer.g.decay_start": 1.5}, ["decay_start must be in [0, 1)"]),
])
def test_bad_config_one_line_error(name, overrides, fragments, tmp_path):
  base = {"pix2pix_photos": PIX2PIX, "pix2pix_facades": PIX2PIX, "cyclegan_digits": CYCLEGAN,
          "cyclegan_photos": CYCLEGAN,
          "cogan_digits": COGAN, "dcgan_digits": {}}[name]
  if name == "pix2pix_facades":
    base = {**base, "data.path": side_by_side_folder(tmp_path / "f")}
  with pytest.raises(JaxganError) as excinfo:
    Experiment(make_config(name, **{**base, **overrides}))
  _one_line(excinfo, *fragments)


def test_unpaired_folder_layout_missing(tmp_path):
  os.makedirs(tmp_path / "x" / "horses")
  with pytest.raises(JaxganError) as excinfo:
    _data("folder", path=str(tmp_path / "x"), layout="unpaired", image_size=8, channels=3)
  _one_line(excinfo, "needs subfolders trainA/ trainB/")


def test_tfds_two_domains(tmp_path):
  with _tfds_mock():
    source, info = _data("tfds:cycle_gan/horse2zebra", domain_b="split", train_split="trainA",
                         train_split_b="trainB", data_dir=str(tmp_path), image_size=8,
                         channels=3)
    assert info.pairing == "unpaired" and info.num_classes == 0 and sorted(source[0]) == ["a", "b"]
    source, info = _data("tfds:mnist", domain_b="negative", data_dir=str(tmp_path),
                         image_size=8, channels=1)
    assert info.relation == "negative" and len(source) == 3  # halves of 6
    with pytest.raises(JaxganError) as excinfo:
      _data("tfds:mnist", domain_b="split", data_dir=str(tmp_path), image_size=8, channels=1)
    _one_line(excinfo, "needs data.train_split_b")


# ---------------------------------------------------------------- 8 devices == 1 device

_DEVICES_SCRIPT = """
import sys
import jax, numpy as np
sys.path.insert(0, {tests!r})
from test_translation_train import cyclegan_two_steps
leaves, rows, _ = cyclegan_two_steps()
np.savez(sys.argv[1], len(jax.devices()), rows, *leaves)
"""


def cyclegan_two_steps():
  """CycleGAN's state after two SGD steps of a batch of 8 (one example per device on 8), the
  most examples of a batch any one device held, and the state before the steps."""
  from jaxgan.config import optimizer_config  # pylint: disable=g-import-not-at-top
  config = make_config("cyclegan_digits", **{**CYCLEGAN, "batch_size": 8})
  with config.unlocked():
    config.optimizer.g = optimizer_config("sgd", lr=0.1)
    config.optimizer.d = optimizer_config("sgd", lr=0.1)
  experiment = Experiment(config)
  state, iterator = experiment.init_state(), experiment.train_iterator()
  # copies: the step may donate the state's buffers
  start = [np.array(x, copy=True) for x in jax.tree_util.tree_leaves(jax.device_get(state))]
  rows = 0
  for _ in range(2):
    batch = experiment.next_batch(iterator)  # leaves [1, 8, ...], the batch axis sharded
    rows = max([rows] + [s.data.shape[1] for x in jax.tree_util.tree_leaves(batch)
                         for s in x.addressable_shards])
    state, _ = experiment.train_step(state, batch)
  return [np.asarray(x) for x in jax.tree_util.tree_leaves(jax.device_get(state))], rows, start


def test_cyclegan_on_8_devices_equals_1(tmp_path):
  """The batch sharded over 8 forced CPU devices: the same G/D updates and history pools."""
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  script = tmp_path / "eight.py"
  script.write_text(_DEVICES_SCRIPT.format(tests=os.path.dirname(os.path.abspath(__file__))))
  out = tmp_path / "eight.npz"
  env = dict(os.environ, XLA_FLAGS=(os.environ.get("XLA_FLAGS", "")
                                    + " --xla_force_host_platform_device_count=8"),
             JAX_PLATFORMS="cpu")
  subprocess.run([sys.executable, str(script), str(out)], check=True, env=env, cwd=REPO)
  one, rows, start = cyclegan_two_steps()
  assert rows == 8
  with np.load(out) as eight:
    # 8 devices, each holding 1 of the batch's 8 examples: the step really ran data-parallel.
    assert (int(eight["arr_0"]), int(eight["arr_1"])) == (8, 1)
    leaves = [eight[f"arr_{i + 2}"] for i in range(len(one))]
  # The two steps' change of every leaf agrees to 1% of its size: rounding (the reductions' order
  # differs) moved single weights by up to 6e-5 on a newer 2-core EPYC, where elementwise
  # tolerances failed, while a gradient left per-device (one example of eight) changes the
  # updates themselves.
  assert len(start) == len(one)
  moved = 0
  for x, y, x0 in zip(one, leaves, start):
    x, y, x0 = (np.asarray(a, np.float64) for a in (x, y, x0))
    update = np.linalg.norm(x - x0)
    moved += update > 0
    # (+1e-6: leaves whose gradient is zero but for rounding, e.g. biases before a norm layer)
    assert np.linalg.norm(x - y) <= 1e-2 * update + 1e-6, (np.linalg.norm(x - y), update)
  assert moved > len(one) // 2
