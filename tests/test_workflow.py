"""Working with a trained model and a data set: generate, interpolate, init_from, prepare, bars.

One tiny dcgan_digits workdir (2 steps) serves the command-line tests; the other trainers are
checked on their freshly initialised state (no training: what matters is what the commands do
with a generator, not what it learnt).
"""

from __future__ import annotations

import io
import os

import jax
import numpy as np
import pytest
from PIL import Image

from jaxgan import cli, progress
from jaxgan.commands import workflow_cli
from jaxgan.config import apply_overrides, load_config_file, validate
from jaxgan.errors import JaxganError
from test_cli import CONFIGS, TINY_DIGITS, tree_snapshot
from test_configs import tiny_overrides


def _png(path) -> np.ndarray:
  with Image.open(path) as image:
    return np.asarray(image)


def _fresh(name, **extra):
  """(experiment, freshly initialised state) of a tiny configs/NAME.py."""
  from jaxgan.train.experiment import Experiment  # pylint: disable=g-import-not-at-top
  config = load_config_file(str(CONFIGS / f"{name}.py"))
  overrides = {**tiny_overrides(config), **{k: str(v) for k, v in extra.items()}}
  experiment = Experiment(apply_overrides(config, overrides))
  return experiment, experiment.init_state()


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
  """A tiny dcgan_digits workdir, 2 steps (checkpoint 2). Copy it before changing it."""
  workdir = tmp_path_factory.mktemp("dcgan") / "run"
  assert cli.main(["train", "--config", str(CONFIGS / "dcgan_digits.py"), "--workdir",
                   str(workdir), "--no-tensorboard", *TINY_DIGITS, "--config.steps=2"]) == 0
  return workdir


def _main_error(capsys, argv) -> str:
  """Runs jaxgan in-process, expects exit 1 and returns its one error line."""
  assert cli.main(argv) == 1
  errors = [l for l in capsys.readouterr().err.splitlines() if l.startswith("jaxgan: error:")]
  assert len(errors) == 1, errors
  return errors[0]


# ---------------------------------------------------------------- seeds


def test_parse_seeds_ranges_lists_and_bad_syntax():
  assert workflow_cli.parse_seeds("0-3,10,7-8") == [0, 1, 2, 3, 10, 7, 8]
  assert workflow_cli.parse_seeds("5") == [5]
  assert workflow_cli.parse_seeds("1, 5, 9") == [1, 5, 9]
  for bad in ("0-", "a", "1,,2", "-3", "5-3", "1.5", str(2**32)):
    with pytest.raises(JaxganError, match="--seeds"):
      workflow_cli.parse_seeds(bad)


# ---------------------------------------------------------------- generate


def test_generate_images_depend_on_their_seed_alone(digits_run, tmp_path, capsys):
  assert cli.main(["generate", "--workdir", str(digits_run), "--seeds", "0-7", "--outdir",
                   str(tmp_path / "all")]) == 0
  assert cli.main(["generate", "--workdir", str(digits_run), "--seeds", "5,3-4", "--outdir",
                   str(tmp_path / "some")]) == 0
  assert sorted(os.listdir(tmp_path / "some")) == ["grid_5,3-4.png", "seed0003.png",
                                                   "seed0004.png", "seed0005.png"]
  for seed in (3, 4, 5):
    np.testing.assert_array_equal(_png(tmp_path / "all" / f"seed{seed:04d}.png"),
                                  _png(tmp_path / "some" / f"seed{seed:04d}.png"))
  images = [_png(tmp_path / "all" / f"seed{s:04d}.png") for s in range(8)]
  assert images[0].shape == (8, 8)
  assert len({im.tobytes() for im in images}) == 8  # each seed its own image
  # The grid: 3x3 cells of 8 pixels and 1-pixel gaps, the seeds in order.
  grid = _png(tmp_path / "all" / "grid_0-7.png")
  assert grid.shape == (3 * 9 + 1, 3 * 9 + 1)
  np.testing.assert_array_equal(grid[10:18, 1:9], images[3])
  assert "wrote 8 images (8x8) of step 2" in capsys.readouterr().err
  # The same seed as `jaxgan sample --seed 3 --num 1` draws it (up to XLA's rounding in a
  # batch of another size).
  from jaxgan.cli import _load_workdir  # pylint: disable=g-import-not-at-top
  _, experiment, state, _ = _load_workdir(str(digits_run))
  sample = experiment.trainer.sample_outputs(state, 1, 3)["samples"][0, ..., 0]
  assert np.abs(sample.astype(int) - images[3].astype(int)).max() <= 1


def test_generate_refuses_to_overwrite_and_bad_arguments(digits_run, tmp_path, capsys):
  out = tmp_path / "out"
  assert cli.main(["generate", "--workdir", str(digits_run), "--seeds", "1-2", "--outdir",
                   str(out)]) == 0
  before = tree_snapshot(tmp_path)
  args = ["generate", "--workdir", str(digits_run), "--outdir", str(out)]
  assert "--overwrite" in _main_error(capsys, args + ["--seeds", "2-3"])
  assert "--seeds" in _main_error(capsys, args + ["--seeds", "3-"])
  assert "class-conditional" in _main_error(capsys, args + ["--seeds", "7", "--class", "1"])
  assert tree_snapshot(tmp_path) == before  # nothing written or overwritten
  assert cli.main(args + ["--seeds", "2-3", "--overwrite"]) == 0
  assert sorted(os.listdir(out)) == ["grid_1-2.png", "grid_2-3.png", "seed0001.png",
                                     "seed0002.png", "seed0003.png"]


def test_generate_class_conditional():
  experiment, state = _fresh("cgan_digits")
  trainer = experiment.trainer
  by_seed = trainer.generate_seeds(state, [0, 1, 13])
  np.testing.assert_array_equal(by_seed["labels"], [0, 1, 3])  # seed mod 10 by default
  fixed = trainer.generate_seeds(state, [0, 1, 13], label=3)
  np.testing.assert_array_equal(fixed["labels"], [3, 3, 3])
  np.testing.assert_array_equal(fixed["samples"][2], by_seed["samples"][2])  # 13: class 3 both
  assert np.abs(fixed["samples"][0] - by_seed["samples"][0]).max() > 1e-3  # the class matters
  with pytest.raises(JaxganError, match=r"\[0, 9\]"):
    trainer.generate_seeds(state, [0], label=10)
  # A walk keeps one class: the first seed's, or --class.
  np.testing.assert_array_equal(trainer.interpolate(state, [13, 1], 2)["labels"], [3, 3, 3])
  walk = trainer.interpolate(state, [0, 1], 2, label=3)
  np.testing.assert_array_equal(walk["labels"], [3, 3, 3])
  np.testing.assert_array_equal(walk["samples"][0], fixed["samples"][0])


def test_generate_pairs_and_translations_through_the_contract():
  # CoGAN: a pair per seed, side by side in one picture.
  experiment, state = _fresh("cogan_digits")
  out = experiment.trainer.generate_seeds(state, [4, 9])
  assert set(out) == {"samples_a", "samples_b"}
  picture = workflow_cli.pictures(out)
  assert picture.shape == (2, 8, 8 + 1 + 8, 1)
  np.testing.assert_array_equal(picture[:, :, 9:], workflow_cli.pictures(
      {"b": out["samples_b"]}))
  # pix2pix: a seeded test input, its translation and the target; a seed's row is the one
  # generate_outputs(state, 1, seed) gives. No latent walk.
  experiment, state = _fresh("pix2pix_photos")
  trainer = experiment.trainer
  out = trainer.generate_seeds(state, [2, 5])
  single = trainer.generate_outputs(state, 1, 5)
  assert set(out) == {"inputs", "samples", "targets"}
  for name in out:
    np.testing.assert_array_equal(out[name][1], single[name][0])
  with pytest.raises(JaxganError, match="latent interpolation"):
    trainer.interpolate(state, [1, 2], 3)
  with pytest.raises(JaxganError, match="--class"):
    trainer.generate_seeds(state, [1], label=0)


# ---------------------------------------------------------------- interpolate


def test_slerp_keeps_the_norm_and_hits_the_ends():
  from jaxgan.train.adversarial import slerp_latents, walk_times  # pylint: disable=g-import-not-at-top
  a = np.array([[3.0, 0.0, 0.0]], np.float32)
  b = np.array([[0.0, 5.0, 0.0]], np.float32)
  t = np.array([0.0, 0.5, 1.0])
  out = slerp_latents(np.repeat(a, 3, 0), np.repeat(b, 3, 0), t)
  np.testing.assert_array_equal(out[0], a[0])
  np.testing.assert_array_equal(out[2], b[0])
  # Halfway along the quarter circle, the norm halfway between 3 and 5 (a lerp would give 2.9).
  np.testing.assert_allclose(out[1], 4.0 * np.array([1, 1, 0]) / np.sqrt(2), rtol=1e-6)
  legs, times = walk_times(3, 4)
  np.testing.assert_array_equal(legs, [0, 0, 0, 0, 1, 1, 1, 1, 1])
  np.testing.assert_allclose(times, [0, .25, .5, .75, 0, .25, .5, .75, 1])


def test_interpolate_writes_gif_and_strip_through_the_seeds(digits_run, tmp_path, capsys):
  assert cli.main(["generate", "--workdir", str(digits_run), "--seeds", "1,3,7", "--outdir",
                   str(tmp_path / "keys")]) == 0
  out = tmp_path / "walk.gif"
  assert cli.main(["interpolate", "--workdir", str(digits_run), "--seeds", "1,7,3",
                   "--frames", "4", "--out", str(out)]) == 0
  with Image.open(out) as gif:
    frames = []
    for i in range(gif.n_frames):
      gif.seek(i)
      frames.append(np.asarray(gif.convert("L")))
  assert len(frames) == 9  # 2 legs of 4 frames and the last seed
  for index, seed in ((0, 1), (4, 7), (8, 3)):  # the key frames are the seeds' images
    np.testing.assert_array_equal(frames[index], _png(tmp_path / "keys" / f"seed{seed:04d}.png"))
  assert len({f.tobytes() for f in frames}) == 9
  strip = _png(tmp_path / "walk_strip.png")
  assert strip.shape == (10, 9 * 9 + 1)
  np.testing.assert_array_equal(strip[1:9, 1 + 2 * 9:9 + 2 * 9], frames[2])
  capsys.readouterr()
  args = ["interpolate", "--workdir", str(digits_run), "--out", str(tmp_path / "w.mp4")]
  assert "GIF" in _main_error(capsys, args + ["--seeds", "1,2"])
  assert "two or more" in _main_error(capsys, args + ["--seeds", "4"])
  assert "--overwrite" in _main_error(capsys, ["interpolate", "--workdir", str(digits_run),
                                               "--seeds", "1,2", "--out", str(out)])


def test_interpolate_style_models_in_w():
  experiment, state = _fresh("stylegan2_digits")
  trainer = experiment.trainer
  out = trainer.interpolate(state, [1, 7], 2, truncation=0.5)["samples"]
  assert out.shape == (3, 8, 8, 1)
  params = state.ema_params if state.ema_params is not None else state.g_params
  z, _ = trainer.seed_latents([1, 7])
  ws = trainer._mix_ws(params, state.g_state, z, 0.5)  # pylint: disable=protected-access
  middle = trainer._mix_synthesis(params, state.g_state,  # pylint: disable=protected-access
                                  (ws[:1] + ws[1:]) / 2)
  np.testing.assert_allclose(out[1], np.asarray(middle)[0], atol=1e-5)
  keys = trainer.generate_seeds(state, [1, 7], truncation=0.5)["samples"]
  np.testing.assert_allclose(out[[0, 2]], keys, atol=1e-4)


# ---------------------------------------------------------------- init_from


def test_init_from_starts_from_the_donor_weights(digits_run, tmp_path, capsys):
  from jaxgan.train.init_from import restore_donor  # pylint: disable=g-import-not-at-top
  donor, step = restore_donor(str(digits_run))
  assert step == 2
  experiment, state = _fresh("dcgan_digits", **{"init_from": f"{digits_run}:2",
                                                "data.image_size": 8,
                                                "generator.base_features": 4,
                                                "discriminator.base_features": 4})
  assert int(state.step) == 0
  for name in ("g_params", "d_params", "g_state", "d_state"):
    jax.tree_util.tree_map(np.testing.assert_array_equal, jax.device_get(getattr(state, name)),
                           donor[name])
  fresh = experiment.trainer.init_state(jax.random.PRNGKey(experiment.config.seed))
  jax.tree_util.tree_map(np.testing.assert_array_equal, jax.device_get(state.g_opt_state),
                         jax.device_get(fresh.g_opt_state))
  # One step of a fine-tuning run moves the donor's weights by about one Adam step (G's lr).
  workdir = tmp_path / "tuned"
  assert cli.main(["train", "--config", str(CONFIGS / "dcgan_digits.py"), "--workdir",
                   str(workdir), "--no-tensorboard", *TINY_DIGITS, "--config.steps=1",
                   f"--config.init_from={digits_run}"]) == 0
  tuned, _ = restore_donor(str(workdir))
  moved = jax.tree_util.tree_map(lambda a, b: float(np.abs(a - b).max()), tuned["g_params"],
                                 donor["g_params"])
  g_lr = load_config_file(str(CONFIGS / "dcgan_digits.py")).optimizer.g.lr
  assert 0 < max(jax.tree_util.tree_leaves(moved)) < 1.5 * g_lr
  capsys.readouterr()
  # Bad donors: one line, nothing written.
  before = tree_snapshot(tmp_path)
  train = ["train", "--config", str(CONFIGS / "dcgan_digits.py"), "--workdir",
           str(tmp_path / "new"), "--no-tensorboard", *TINY_DIGITS, "--config.steps=1"]
  line = _main_error(capsys, train + ["--config.latent_dim=9",
                                      f"--config.init_from={digits_run}"])
  code = load_config_file(str(CONFIGS / "dcgan_digits.py")).info_code.categories  # after z
  assert (f"g_params/Dense_0/kernel is ({8 + code}, 64) float32 there but ({9 + code}, 64) "
          "float32 here") in line
  assert "no checkpoint 5" in _main_error(capsys, train + [f"--config.init_from={digits_run}:5"])
  assert "does not exist" in _main_error(capsys, train + ["--config.init_from=" +
                                                          str(tmp_path / "nowhere")])
  assert "init_from" in _main_error(capsys, train + ["--config.init_from=:3"])
  assert tree_snapshot(tmp_path) == before


# ---------------------------------------------------------------- prepare


def _labelled_folder(root, count: int = 10):
  rng = np.random.default_rng(0)
  for i in range(count):
    folder = root / ("cats" if i % 2 else "dogs")
    folder.mkdir(parents=True, exist_ok=True)
    pixels = rng.integers(0, 256, size=(14 + i, 20, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(folder / f"{i}.{'png' if i % 3 else 'jpg'}")


def test_prepare_stores_what_the_folder_source_decodes(tmp_path, capsys):
  from jaxgan.data import registry  # pylint: disable=g-import-not-at-top
  from jaxgan.data.folder import FolderSource  # pylint: disable=g-import-not-at-top
  _labelled_folder(tmp_path / "pets", 30)
  out = tmp_path / "prepared"
  assert cli.main(["prepare", "--folder", str(tmp_path / "pets"), "--image-size", "8",
                   "--out", str(out)]) == 0
  assert "train on them with --config.data.name=prepared" in capsys.readouterr().err
  config = apply_overrides(load_config_file(str(CONFIGS / "dcgan_digits.py")), {
      "data.name": "prepared", "data.path": str(out), "data.image_size": "8",
      "data.channels": "3"})
  validate(config, num_devices=1)
  for split in ("train", "test"):
    source, info = registry.load(config.data, split)
    folder = FolderSource(str(tmp_path / "pets"), 8, 3, split=split)
    assert len(source) == len(folder) > 0 and info.num_classes == 2
    indices = np.arange(len(folder))[::-1]
    got, want = source.get_batch(indices), {k: np.stack([folder[int(i)][k] for i in indices])
                                            for k in ("image", "label")}
    np.testing.assert_array_equal(got["image"], want["image"])  # bit for bit
    np.testing.assert_array_equal(got["label"], want["label"])
    np.testing.assert_array_equal(source[3]["image"], folder[3]["image"])
  # Training reads it: the Experiment's batches come from the prepared records.
  from jaxgan.train.experiment import Experiment  # pylint: disable=g-import-not-at-top
  import ml_collections  # pylint: disable=g-import-not-at-top
  tiny = apply_overrides(config, {"batch_size": "4", "latent_dim": "8",
                                  "generator.base_features": "4",
                                  "discriminator.base_features": "4"})
  tiny.evals = ml_collections.ConfigDict()  # the digits evaluator is for the embedded digits
  experiment = Experiment(tiny)
  batch = experiment.next_batch(experiment.train_iterator())
  assert batch["image"].shape == (1, 4, 8, 8, 3)
  # Bad input: one line, nothing lost.
  before = tree_snapshot(tmp_path)
  prepare = ["prepare", "--folder", str(tmp_path / "pets"), "--image-size", "8", "--out"]
  assert "--overwrite" in _main_error(capsys, prepare + [str(out)])
  assert "not a prepared data set" in _main_error(capsys, prepare + [str(tmp_path / "pets"),
                                                                     "--overwrite"])
  assert "--image-size" in _main_error(capsys, ["prepare", "--folder", str(tmp_path / "pets"),
                                                "--out", str(tmp_path / "x")])
  assert tree_snapshot(tmp_path) == before
  with pytest.raises(JaxganError, match="prepared at 8x8x3"):
    registry.load(apply_overrides(config, {"data.image_size": "16"}).data, "train")


# ---------------------------------------------------------------- progress bars


class _Terminal(io.StringIO):
  def isatty(self):
    return True


def test_progress_bars_only_on_a_terminal_and_not_quiet(monkeypatch):
  def drawn() -> str:
    stream = _Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    bar = progress.bar(3, "generate")
    bar.update(3)
    bar.close()
    return stream.getvalue()

  assert "generate" in drawn()
  monkeypatch.setattr(progress, "enabled", False)
  assert drawn() == ""
  monkeypatch.setattr(progress, "enabled", True)
  stream = io.StringIO()  # not a terminal: no bar
  monkeypatch.setattr("sys.stderr", stream)
  bar = progress.bar(3, "generate")
  bar.update(3)
  bar.close()
  assert stream.getvalue() == ""
