"""Every config in configs/: it loads, validates, and trains 2 steps at a tiny size; and a short
gan_ring8 run really learns the ring (the smoke test of the whole engine).

Time: on 2 CPU cores a tiny step of the larger architectures (BigGAN, SAGAN, CycleGAN, pix2pix)
costs 10-40 s of XLA compilation however small the networks. In each of these families one
config with embedded data trains its 2 steps for real; the others, which differ from it in data
and sizes, check their step by tracing it on a real batch of their own data (`jax.eval_shape`:
every shape, dtype and data path, no compilation). Every other config, the tfds configs of the
cheaper families included, trains 2 real steps.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import jax
import numpy as np
import pytest
from PIL import Image

from jaxgan import cli
from jaxgan.config import apply_overrides, load_config_file, validate

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
CONFIG_NAMES = sorted(p.stem for p in CONFIGS.glob("*.py") if p.stem != "__init__")
HEAVY_ARCHITECTURES = ("biggan", "sagan", "cyclegan", "pix2pix", "stackgan", "progan", "stylegan",
                       "stylegan2")


def _config(name):
  return load_config_file(str(CONFIGS / f"{name}.py"))


def _external_data(config) -> bool:
  return (config.data.name.startswith("tfds:") or config.data.name == "folder"
          or config.data.name in ("stackgan_cub", "stackgan_coco"))


def _split_configs():
  """(configs trained for real, heavy configs whose step is traced on their data)."""
  real, traced, heavy_done = [], [], set()
  for name in sorted(CONFIG_NAMES, key=lambda n: (_external_data(_config(n)), n)):
    architecture = _config(name).architecture
    if architecture in HEAVY_ARCHITECTURES and architecture in heavy_done:
      traced.append(name)
    else:
      real.append(name)
      heavy_done.add(architecture)
  return sorted(real), sorted(traced)


REAL_CONFIGS, TRACED_CONFIGS = _split_configs()

# Sizes that make every architecture a few thousand parameters; only the keys an architecture
# has are listed, and each must exist (a renamed key fails here rather than being ignored).
TINY_BY_ARCHITECTURE = {
    "mlp": {"generator.hidden": "(16, 16)", "discriminator.hidden": "(16,)",
            "data.image_size": "8"},
    "conditional_mlp": {
        "generator.z_hidden": "8", "generator.label_hidden": "8",
        "generator.joint_hidden": "(16,)", "discriminator.x_hidden": "8",
        "discriminator.label_hidden": "8", "discriminator.joint_hidden": "(8,)",
        "data.image_size": "8"},
    "dcgan": {"generator.base_features": "4", "discriminator.base_features": "4",
              "data.image_size": "8"},
    # The paper's CoGAN nets are built for 28x28 only; narrow them instead.
    "cogan_paper": {"generator.features": "(4, 4, 2, 2)", "discriminator.features": "(2, 2, 4)"},
    "cogan": {"generator.base_features": "4", "discriminator.base_features": "4",
              "generator.shared_layers": "1", "discriminator.shared_layers": "1",
              "data.image_size": "8"},
    "biggan": {"generator.ch": "2", "generator.channel_multipliers": "(4, 4)",
               "generator.attention_resolutions": "(8,)", "generator.shared_dim": "4",
               "discriminator.ch": "2", "discriminator.channel_multipliers": "(4, 4)",
               "discriminator.downsample": "(True, False)",
               "discriminator.attention_resolutions": "(4,)", "data.image_size": "8"},
    "sagan": {"generator.ch": "2", "generator.channel_multipliers": "(4, 4)",
              "generator.attention_resolutions": "(8,)",
              "discriminator.ch": "2", "discriminator.channel_multipliers": "(4, 4)",
              "discriminator.downsample": "(True, False)",
              "discriminator.attention_resolutions": "(4,)", "data.image_size": "8"},
    "cyclegan": {"generator.base_features": "4", "generator.num_blocks": "1",
                 "discriminator.base_features": "4", "discriminator.receptive_field": "16",
                 "data.image_size": "8", "augment.load_size": "0", "pool_size": "4"},
    # Stage-I (the configs' default stage) at 8x8 from 16x16 data; Stage-II: tests/test_stackgan.py.
    "stackgan": {"generator.gf_dim": "2", "discriminator.df_dim": "2", "condition_dim": "8",
                 "generator.r_num": "1", "stage1_size": "8", "data.image_size": "16"},
    "pix2pix": {"generator.base_features": "4", "generator.num_downs": "2",
                "discriminator.base_features": "4", "discriminator.receptive_field": "16",
                "data.image_size": "8", "augment.load_size": "0"},
    "progan": {"generator.fmap_base": "16", "generator.fmap_max": "8",
               "discriminator.fmap_base": "16", "discriminator.fmap_max": "8",
               "data.image_size": "8", "growth.fade_kimg": "0.008", "growth.stable_kimg": "0.008",
               "growth.batch_sizes": "()"},
    "stylegan": {"generator.w_dim": "8", "generator.mapping_features": "8",
                 "generator.mapping_layers": "2", "generator.fmap_base": "16",
                 "generator.fmap_max": "8", "discriminator.fmap_base": "16",
                 "discriminator.fmap_max": "8", "data.image_size": "8"},
    "stylegan2": {"generator.w_dim": "8", "generator.mapping_features": "8",
                  "generator.mapping_layers": "2", "generator.fmap_base": "16",
                  "generator.fmap_max": "8", "discriminator.fmap_base": "16",
                  "discriminator.fmap_max": "8", "data.image_size": "8"},
}


def tiny_overrides(config) -> dict[str, str]:
  """--config.KEY=VALUE overrides that shrink `config` to a 2-step, few-second run."""
  overrides = {
      "steps": "2", "batch_size": "8", "latent_dim": "8", "checkpoint_every": "1",
      "sample_every": "1", "log_every": "1", "eval.num_samples": "20",
      "eval.batch_size": "4", "sample_grid": "2", "ema.start": "0",
  }
  if config.n_critic > 2:
    overrides["n_critic"] = "2"  # still several critic updates per step, half the compile time
  if config.grad_accum_steps > 1:
    overrides["grad_accum_steps"] = "2"  # keep accumulation in play, at micro-batch 4
  if config.get("standing_stats", 0):
    overrides["standing_stats"] = "2"
  overrides.update(TINY_BY_ARCHITECTURE[config.architecture])
  return overrides


def _image_folder_side_by_side(path: Path, size: int = 24, count: int = 12) -> None:
  """pix2pix's layout: each file is A|B side by side, in train/ and test/ subfolders."""
  rng = np.random.default_rng(0)
  for split in ("train", "test"):
    (path / split).mkdir(parents=True)
    for i in range(count):
      pair = rng.integers(0, 256, size=(size, 2 * size, 3), dtype=np.uint8)
      Image.fromarray(pair).save(path / split / f"{i}.png")


def _data_context(config, tmp_path, overrides):
  """Offline stand-ins for data sets this machine does not have."""
  name = config.data.name
  if name.startswith("tfds:"):
    tfds = pytest.importorskip("tensorflow_datasets")
    overrides["data.data_dir"] = str(tmp_path / "tfds")
    return tfds.testing.mock_data(num_examples=24)
  if name == "folder":
    _image_folder_side_by_side(tmp_path / "images")
    overrides["data.path"] = str(tmp_path / "images")
  if name in ("stackgan_cub", "stackgan_coco"):
    _stackgan_tree(tmp_path / "stackgan")
    overrides["data.path"] = str(tmp_path / "stackgan")
  return contextlib.nullcontext()


def _stackgan_tree(path: Path, count: int = 4) -> None:
  """The published StackGAN layout (CUB images, boxes, pickled names and embeddings), small."""
  import pickle  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  names = [f"001.Bird/Bird_{i:04d}" for i in range(count)]
  cub = path / "CUB_200_2011"
  (cub / "images" / "001.Bird").mkdir(parents=True)
  with open(cub / "images.txt", "w", encoding="utf-8") as f:
    f.writelines(f"{i} {n}.jpg\n" for i, n in enumerate(names, 1))
  with open(cub / "bounding_boxes.txt", "w", encoding="utf-8") as f:
    f.writelines(f"{i} 4.0 4.0 20.0 20.0\n" for i in range(1, count + 1))
  for n in names:
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(cub / "images" /
                                                                         f"{n}.jpg")
  for split, chosen in (("train", names), ("test", names[:2])):
    (path / split).mkdir()
    with open(path / split / "filenames.pickle", "wb") as f:
      pickle.dump(chosen, f, protocol=2)
    with open(path / split / "char-CNN-RNN-embeddings.pickle", "wb") as f:
      pickle.dump(rng.normal(size=(len(chosen), 10, 16)).astype(np.float32), f, protocol=2)


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_config_loads_and_validates(name):
  config = load_config_file(str(CONFIGS / f"{name}.py"))
  validate(config, num_devices=1)
  assert config.architecture in TINY_BY_ARCHITECTURE, config.architecture
  assert config.steps >= 1000 and config.batch_size >= 1  # a real experiment, not a test size
  with pytest.raises(AttributeError):  # locked: a misspelt key is an error
    config.stepz = 3  # pylint: disable=attribute-defined-outside-init


def _training_records(workdir) -> list[dict]:
  with open(workdir / "metrics.jsonl", encoding="utf-8") as f:
    return [r for r in map(json.loads, f) if not any(k.startswith("eval/") for k in r)]


def test_every_heavy_family_trains_one_config_for_real():
  for name in TRACED_CONFIGS:
    architecture = _config(name).architecture
    assert any(_config(n).architecture == architecture for n in REAL_CONFIGS), name
  for name in ("dcgan_mnist", "dcgan_celeba64", "wgan_gp_cifar10"):  # tfds, trained under mock
    assert name in REAL_CONFIGS


@pytest.mark.parametrize("name", REAL_CONFIGS)
def test_config_trains_two_tiny_steps(name, tmp_path):
  config = load_config_file(str(CONFIGS / f"{name}.py"))
  overrides = tiny_overrides(config)
  workdir = tmp_path / "w"
  with _data_context(config, tmp_path, overrides):
    code = cli.main(["train", "--config", str(CONFIGS / f"{name}.py"), "--workdir", str(workdir),
                     "--no-tensorboard", *[f"--config.{k}={v}" for k, v in overrides.items()]])
  assert code == 0
  records = _training_records(workdir)
  assert [r["step"] for r in records] == [1, 2]
  for record in records:
    values = [v for k, v in record.items() if k not in ("step", "time")]
    assert values and np.all(np.isfinite(values)), record
  assert sorted(os.listdir(workdir / "checkpoints")) == ["1", "2"]
  assert sorted(os.listdir(workdir / "samples")) == ["step_0000001.png", "step_0000002.png"]
  saved = json.loads((workdir / "config.json").read_text())
  assert saved["steps"] == 2 and saved["architecture"] == config.architecture


@pytest.mark.parametrize("name", TRACED_CONFIGS)
def test_config_step_traces_on_its_own_data(name, tmp_path):
  from jaxgan.train.experiment import Experiment  # pylint: disable=g-import-not-at-top
  config = _config(name)
  overrides = tiny_overrides(config)
  with _data_context(config, tmp_path, overrides):
    config = apply_overrides(config, overrides)
    experiment = Experiment(config)  # validates, loads the data, builds the networks
    iterator = experiment.train_iterator()
    batches = [experiment.next_batch(iterator, i) for i in range(2)]  # two steps' worth of data
  for batch in batches:
    for leaf in jax.tree_util.tree_leaves(batch):
      assert np.all(np.isfinite(np.asarray(leaf, np.float32)))
  state, metrics = jax.eval_shape(experiment.step_fn(1), experiment.abstract_state, batches[1])

  def signature(tree):
    return jax.tree_util.tree_map(lambda x: (tuple(x.shape), str(x.dtype)), tree)
  assert signature(state) == signature(experiment.abstract_state)  # a step keeps the state's shape
  assert metrics and all(m.shape == () and m.dtype == np.float32 for m in metrics.values())


def test_gan_ring8_smoke_run_covers_the_ring(tmp_path):
  """A short real run of the whole engine: GAN on ring8 must find most of the 8 modes.

  Narrower nets (3x128 G, 2x128 maxout D), batch 128, Adam 3e-4 and 2500 steps: about 25 s
  on 2 CPU cores. Measured with these settings: seeds 0-9 all covered 8/8 modes, with
  high-quality fractions 0.16-0.47 (at 2000 steps: 7-8 modes, 0.07-0.28). The bounds below,
  >= 6 modes and >= 5% high quality, leave 2 modes and a factor 3 of margin.
  """
  workdir = tmp_path / "w"
  code = cli.main([
      "train", "--config", str(CONFIGS / "gan_ring8.py"), "--workdir", str(workdir),
      "--no-tensorboard", "--config.seed=0", "--config.steps=2500", "--config.batch_size=128",
      "--config.generator.hidden=(128, 128, 128)", "--config.discriminator.hidden=(128, 128)",
      "--config.optimizer.g.lr=3e-4", "--config.optimizer.d.lr=3e-4",
      "--config.checkpoint_every=2500", "--config.sample_every=0",
      "--config.log_every=500"])
  assert code == 0
  with open(workdir / "eval.jsonl", encoding="utf-8") as f:
    scores = [json.loads(line) for line in f][-1]
  assert scores["step"] == 2500
  assert scores["modes_covered"] >= 6, scores
  assert scores["high_quality_fraction"] >= 0.05, scores
