"""StackGAN: conditioning augmentation, the matching-aware loss, the two stages' networks, the
frozen Stage-I inside Stage-II, resuming, and the command line (train, sample --captions,
evaluate) on tiny captioned_digits runs."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgan import cli
from jaxgan.config import apply_overrides, load_config_file, optimizer_config, validate
from jaxgan.errors import JaxganError
from jaxgan.models import stackgan as models
from jaxgan.train import stackgan as trainer_lib
from jaxgan.train.state import learning_rate

REPO = Path(__file__).resolve().parents[1]
DIGITS = str(REPO / "configs" / "stackgan_digits.py")
TINY = {"batch_size": "4", "generator.gf_dim": "2", "discriminator.df_dim": "2",
        "condition_dim": "8", "latent_dim": "8", "generator.r_num": "1", "eval.batch_size": "4",
        "eval.num_samples": "8", "sample_grid": "2", "checkpoint_every": "1",
        "sample_every": "0", "log_every": "1"}


def _args(overrides: dict) -> list[str]:
  return [f"--config.{k}={v}" for k, v in overrides.items()]


def _train(workdir, **overrides) -> int:
  return cli.main(["train", "--config", DIGITS, "--workdir", str(workdir), "--no-tensorboard",
                   *_args({**TINY, **{k: str(v) for k, v in overrides.items()}})])


def _one_line_error(capsys, *fragments):
  err = capsys.readouterr().err.strip().splitlines()
  line = [l for l in err if l.startswith("jaxgan: error:")]
  assert len(line) == 1, err
  for fragment in fragments:
    assert fragment in line[0], line[0]


# ------------------------------------------------------------------ conditioning augmentation


def _ca_outputs(sample: bool, noise_seed: int, mu_seed: int = 0, batch: int = 512):
  module = models.CondAugment(condition_dim=8, sample=sample)
  emb = jax.random.normal(jax.random.PRNGKey(mu_seed), (batch, 32))
  params = module.init({"params": jax.random.PRNGKey(1), "noise": jax.random.PRNGKey(2)}, emb)
  return module.apply(params, emb, rngs={"noise": jax.random.PRNGKey(noise_seed)})


def test_kl_matches_the_closed_form():
  rng = np.random.default_rng(0)
  mu = rng.normal(size=(5, 7)).astype(np.float32)
  logvar = rng.normal(scale=0.7, size=(5, 7)).astype(np.float32)
  var = np.exp(logvar.astype(np.float64))
  # KL(N(mu, var) || N(0, 1)) per dimension, averaged over batch and dimensions (the reference's
  # mean-reduced KL_loss).
  closed = np.mean(0.5 * (var + mu.astype(np.float64) ** 2 - 1.0 - np.log(var)))
  assert float(models.kl_divergence(jnp.asarray(mu), jnp.asarray(logvar))) == pytest.approx(
      closed, rel=1e-5)
  assert float(models.kl_divergence(jnp.zeros((3, 4)), jnp.zeros((3, 4)))) == 0.0


def test_ca_draws_eps_and_the_ablation_is_deterministic():
  c1, mu1, logvar1 = _ca_outputs(True, noise_seed=3)
  c2, mu2, _ = _ca_outputs(True, noise_seed=4)
  c1_again, _, _ = _ca_outputs(True, noise_seed=3)
  np.testing.assert_array_equal(np.asarray(mu1), np.asarray(mu2))
  assert not np.allclose(np.asarray(c1), np.asarray(c2))  # two keys, two draws
  np.testing.assert_array_equal(np.asarray(c1), np.asarray(c1_again))
  eps = (np.asarray(c1) - np.asarray(mu1)) / np.exp(0.5 * np.asarray(logvar1))
  assert abs(eps.mean()) < 0.05 and abs(eps.std() - 1.0) < 0.05  # N(0, 1) noise, scaled by sigma
  d1, m1, _ = _ca_outputs(False, noise_seed=3)
  d2, _, _ = _ca_outputs(False, noise_seed=4)
  np.testing.assert_array_equal(np.asarray(d1), np.asarray(m1))  # no CA: c = mu
  np.testing.assert_array_equal(np.asarray(d1), np.asarray(d2))


# ------------------------------------------------------------------ the matching-aware loss


def _softplus(x):
  return math.log1p(math.exp(x))


def test_matching_aware_d_loss_by_hand():
  real, wrong, fake = [2.0, -1.0], [0.5, 1.5], [-0.3, 0.7]
  err_real = (_softplus(-2.0) + _softplus(1.0)) / 2  # -log sigmoid(real)
  err_wrong = (_softplus(0.5) + _softplus(1.5)) / 2  # -log(1 - sigmoid(wrong))
  err_fake = (_softplus(-0.3) + _softplus(0.7)) / 2
  loss, parts = trainer_lib.matching_aware_d_loss(*map(jnp.asarray, (real, wrong, fake)))
  assert float(loss) == pytest.approx(err_real + 0.5 * err_fake + 0.5 * err_wrong, rel=1e-6)
  assert float(parts["d_wrong"]) == pytest.approx(err_wrong, rel=1e-6)
  # Stage-II: the unconditioned head joins with the reference's weights.
  u_real, u_fake = [0.1, -0.2], [1.0, -2.0]
  e_ur = (_softplus(-0.1) + _softplus(0.2)) / 2
  e_uf = (_softplus(1.0) + _softplus(-2.0)) / 2
  loss2, _ = trainer_lib.matching_aware_d_loss(*map(jnp.asarray, (real, wrong, fake, u_real,
                                                                  u_fake)))
  assert float(loss2) == pytest.approx((err_real + e_ur) / 2 + (err_fake + err_wrong + e_uf) / 3,
                                       rel=1e-6)


def test_wrong_text_is_another_examples_text():
  cond = jnp.arange(20.0).reshape(5, 4)
  wrong = np.asarray(trainer_lib.wrong_conditions(cond))
  for i in range(5):
    assert not np.array_equal(wrong[i], np.asarray(cond[i]))  # never its own text
  assert sorted(map(tuple, wrong.tolist())) == sorted(map(tuple, np.asarray(cond).tolist()))


def test_class_swapped_wrong_text_by_mode():
  """Mutations caught: 'class_swap' falling back to the roll, 'mixed' taking the swapped text on
  the odd rows or on every row."""
  cond = jnp.arange(20.0).reshape(5, 4)
  swapped = -cond
  rolled = np.asarray(jnp.roll(cond, 1, axis=0))
  np.testing.assert_array_equal(trainer_lib.wrong_conditions(cond, swapped, "other"), rolled)
  np.testing.assert_array_equal(trainer_lib.wrong_conditions(cond, swapped, "class_swap"),
                                swapped)
  mixed = np.asarray(trainer_lib.wrong_conditions(cond, swapped, "mixed"))
  np.testing.assert_array_equal(mixed[0::2], np.asarray(swapped)[0::2])
  np.testing.assert_array_equal(mixed[1::2], rolled[1::2])


def test_class_swapped_text_goes_through_gs_ca_to_d():
  """With data.wrong_caption='class_swap' D's wrong condition is G's CA mean of the batch's
  class-swapped embeddings: `ca_mean` gives G's own mu for an embedding, and one step's d_wrong
  differs from the reference's mismatch on the same state and batch while d_real and d_fake do
  not. Mutations caught: ca_mean reading other parameters, the option not reaching D's loss."""
  swap = _experiment(stage=1, **{"data.text_encoder": "multihot",
                                 "data.wrong_caption": "class_swap"})
  state = swap.init_state()
  batch = swap.next_batch(swap.train_iterator())
  assert batch["wrong_embedding"].shape == batch["embedding"].shape
  embedding = jnp.asarray(batch["embedding"]).reshape(-1, 1024)
  _, _, mu, _, _ = swap.trainer._forward(state.g_params, state.g_state, state.extra, embedding,
                                         jax.random.PRNGKey(0), train=True)
  np.testing.assert_allclose(models.ca_mean(state.g_params, embedding, 8), mu, rtol=1e-6)
  _, swapped = swap.train_step(state, batch)  # (the step donates the state)
  other = _experiment(stage=1, **{"data.text_encoder": "multihot"})
  other_batch = other.next_batch(other.train_iterator())
  np.testing.assert_array_equal(other_batch["embedding"], batch["embedding"])
  _, reference = other.train_step(other.init_state(), other_batch)
  assert float(swapped["d_real"]) == pytest.approx(float(reference["d_real"]), rel=1e-5)
  assert float(swapped["d_fake"]) == pytest.approx(float(reference["d_fake"]), rel=1e-5)
  assert abs(float(swapped["d_wrong"]) - float(reference["d_wrong"])) > 1e-4


# ------------------------------------------------------------------ shapes


@pytest.mark.parametrize("low,high,expected_reduce", [(16, 64, 0), (64, 256, 2)])
def test_shapes_at_every_stage(low, high, expected_reduce):
  emb = jnp.zeros((3, 24))
  z = jnp.zeros((3, 10))
  keys = {"params": jax.random.PRNGKey(0), "noise": jax.random.PRNGKey(1)}
  g1 = models.Stage1Generator(low, gf_dim=2, condition_dim=6)
  out, variables = jax.eval_shape(lambda: g1.init_with_output(keys, z, emb))
  image, mu, logvar = out
  assert image.shape == (3, low, low, 3) and mu.shape == logvar.shape == (3, 6)
  assert variables["params"]["Dense_0"]["kernel"].shape == (10 + 6, 4 * 4 * 16)  # [z, c] -> 8Ng
  g2 = models.Stage2Generator(high, gf_dim=4, condition_dim=6, r_num=2)
  (image2, mu2, _), v2 = jax.eval_shape(lambda: g2.init_with_output(
      keys, jnp.zeros((3, low, low, 3)), emb))
  assert image2.shape == (3, high, high, 3) and mu2.shape == (3, 6)
  assert len([k for k in v2["params"] if k.startswith("ResBlock")]) == 2
  for size, uncond in ((low, False), (high, True)):
    d = models.StackGANDiscriminator(df_dim=2, unconditional_head=uncond)
    logits, dv = jax.eval_shape(lambda d=d, size=size: d.init_with_output(
        keys, jnp.zeros((3, size, size, 3)), jnp.zeros((3, 6)), jnp.zeros((3, 6))))
    assert {k: v.shape for k, v in logits.items()} == {
        "cond": (3,), "wrong": (3,), **({"uncond": (3,)} if uncond else {})}
    downs = int(math.log2(size // 4))
    trunk = min(2 * 2 ** (downs - 1), 2 * 8)  # doubling from Nd, at most 8 Nd at 4x4
    head = dv["params"]["cond_logits"]["Conv_0"]["kernel"]
    # image features + Nc condition at 4x4 -> the image features' width (8 Nd at 64 and 256)
    assert head.shape == (3, 3, trunk + 6, trunk)
    reduce = 0 if size == low else expected_reduce
    assert len([k for k in dv["params"] if k.startswith("Conv_")]) == downs + reduce


def test_step_learning_rate_schedule():
  opt = optimizer_config(lr=2e-4, lr_decay="step", decay_every=10, decay_factor=0.5)
  schedule = learning_rate(opt, total_steps=100)
  assert [float(schedule(s)) for s in (0, 9, 10, 25)] == pytest.approx(
      [2e-4, 2e-4, 1e-4, 5e-5])
  config = load_config_file(DIGITS)
  config = apply_overrides(config, {"optimizer.g.decay_every": "0"})
  with pytest.raises(JaxganError, match="decay_every"):
    validate(config, num_devices=1)


def test_digits_config_halves_the_rates_every_20_epochs_of_images():
  # The reference's LR_DECAY_EPOCH = 20, an epoch one pass over the images (one caption each).
  from jaxgan.data.captioned_digits import captioned_digits  # pylint: disable=g-import-not-at-top
  images = len(captioned_digits("train")["images"])
  config = load_config_file(DIGITS)
  for opt in (config.optimizer.g, config.optimizer.d):
    assert (opt.lr_decay, opt.decay_factor) == ("step", 0.5)
    assert opt.decay_every == round(20 * images / config.batch_size) == 2247


# ------------------------------------------------------------------ stages, resume, CLI


@pytest.fixture(scope="module")
def stage1_run(tmp_path_factory):
  root = tmp_path_factory.mktemp("stackgan")
  assert _train(root / "w" / "stage1", steps=2, stage=1) == 0
  return root


def _experiment(**overrides):
  from jaxgan.train.experiment import Experiment  # pylint: disable=g-import-not-at-top
  config = apply_overrides(load_config_file(DIGITS),
                           {**TINY, **{k: str(v) for k, v in overrides.items()}})
  return Experiment(config)


def test_stage2_starts_from_stage1_and_leaves_it_untouched(stage1_run):
  from jaxgan.train.checkpoints import Checkpointer  # pylint: disable=g-import-not-at-top
  stage1_dir = stage1_run / "w" / "stage1"
  experiment = _experiment(stage=2, stage1_workdir=str(stage1_dir))
  state = experiment.init_state()
  stage1 = _experiment(stage=1)
  checkpointer = Checkpointer(str(stage1_dir), 3)
  trained = checkpointer.restore(2, stage1.abstract_state)
  checkpointer.close()
  host = lambda tree: jax.tree_util.tree_map(np.asarray, jax.device_get(tree))
  chex_equal = lambda a, b: jax.tree_util.tree_all(jax.tree_util.tree_map(
      np.array_equal, host(a), host(b)))
  assert chex_equal(state.extra["stage1"], {"params": trained.g_params, "state": trained.g_state})
  before = host(state)
  iterator = experiment.train_iterator()
  after, metrics = experiment.train_step(state, experiment.next_batch(iterator))
  after = host(after)
  assert chex_equal(after.extra["stage1"], before.extra["stage1"])  # frozen
  assert not chex_equal(after.g_params, before.g_params)  # Stage-II G trains
  assert not chex_equal(after.d_params, before.d_params)
  assert {"d_uncond_real", "d_uncond_fake", "kl", "g_loss"} <= set(metrics)
  out = experiment.trainer.generate_outputs(after, 3, seed=1)
  assert out["samples"].shape == (3, 64, 64, 3) and out["samples_stage1"].shape == (3, 16, 16, 3)


def test_cli_two_stages_resume_sample_and_evaluate(stage1_run, tmp_path, capsys):
  workdir = stage1_run / "w"
  assert _train(workdir, steps=1, stage=2) == 0  # reads w/stage1
  # Resume Stage-II from its own checkpoint with the Stage-I run gone: the state carries it.
  moved = stage1_run / "elsewhere"
  shutil.move(str(workdir / "stage1"), str(moved))
  try:
    assert _train(workdir, steps=2, stage=2) == 0
  finally:
    shutil.move(str(moved), str(workdir / "stage1"))
  assert sorted(os.listdir(workdir / "checkpoints")) == ["1", "2"]
  captions = tmp_path / "captions.txt"
  captions.write_text("a red seven on a white background\n\n  a big blue two  \n")
  out = tmp_path / "s.npz"
  assert cli.main(["sample", "--workdir", str(workdir), "--captions", str(captions),
                   "--out", str(out)]) == 0
  with np.load(out) as f:
    assert f["samples"].shape == (2, 64, 64, 3) and f["samples"].dtype == np.uint8
    assert f["samples_stage1"].shape == (2, 16, 16, 3)
    assert list(f["captions"]) == ["a red seven on a white background", "a big blue two"]
  out2 = tmp_path / "t.npz"
  assert cli.main(["sample", "--workdir", str(workdir), "--num", "3", "--out", str(out2)]) == 0
  with np.load(out2) as f:
    assert f["samples"].shape == (3, 64, 64, 3) and len(f["captions"]) == 3
  capsys.readouterr()
  assert cli.main(["evaluate", "--workdir", str(workdir), "--num-samples", "8"]) == 0
  scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
  for attr in ("class", "colour", "pattern", "stage1_pattern"):
    assert attr in scores, scores
  assert scores["step"] == 2 and scores["num_captions"] == 8.0


def test_one_line_errors(stage1_run, tmp_path, capsys):
  assert _train(tmp_path / "fresh", steps=1, stage=2) == 1
  _one_line_error(capsys, "no Stage-I checkpoint", str(tmp_path / "fresh" / "stage1"))
  # Stage-II fed other embeddings than its frozen Stage-I G was trained on: refused.
  assert _train(tmp_path / "other", steps=1, stage=2, **{
      "data.text_encoder": "multihot",
      "stage1_workdir": str(stage1_run / "w" / "stage1")}) == 1
  _one_line_error(capsys, "data.text_encoder='gru_cca'", "'multihot'")
  assert not (tmp_path / "other" / "checkpoints").exists()
  empty = tmp_path / "empty.txt"
  empty.write_text("\n  \n")
  assert cli.main(["sample", "--workdir", str(stage1_run / "w" / "stage1"), "--captions",
                   str(empty), "--out", str(tmp_path / "x.npz")]) == 1
  _one_line_error(capsys, "holds no captions", str(empty))
  ring = tmp_path / "ring"
  assert cli.main(["train", "--config", str(REPO / "configs" / "gan_ring8.py"), "--workdir",
                   str(ring), "--no-tensorboard", "--config.steps=1", "--config.batch_size=8",
                   "--config.generator.hidden=(8,)", "--config.discriminator.hidden=(8,)",
                   "--config.checkpoint_every=1", "--config.sample_every=0",
                   "--config.eval.num_samples=16"]) == 0
  captions = tmp_path / "c.txt"
  captions.write_text("a red seven\n")
  capsys.readouterr()
  assert cli.main(["sample", "--workdir", str(ring), "--captions", str(captions), "--out",
                   str(tmp_path / "y.npz")]) == 1
  _one_line_error(capsys, "--captions is for text-to-image trainers")


def test_stackgan_cub_trains_and_samples_on_the_published_layout(tmp_path, capsys):
  from test_configs import _stackgan_tree  # pylint: disable=g-import-not-at-top
  _stackgan_tree(tmp_path / "birds")
  workdir = tmp_path / "cub"
  tiny = {**TINY, "stage1_size": "8", "data.image_size": "16", "data.path": str(tmp_path / "birds"),
          "steps": "1", "stage": "1"}
  assert cli.main(["train", "--config", str(REPO / "configs" / "stackgan_cub.py"), "--workdir",
                   str(workdir), "--no-tensorboard", *_args(tiny)]) == 0
  out = tmp_path / "s.npz"
  assert cli.main(["sample", "--workdir", str(workdir), "--num", "3", "--out", str(out)]) == 0
  with np.load(out) as f:
    assert f["samples"].shape == (3, 8, 8, 3) and "captions" not in f
  captions = tmp_path / "c.txt"
  captions.write_text("a small bird with a red head\n")
  capsys.readouterr()
  assert cli.main(["sample", "--workdir", str(workdir), "--captions", str(captions), "--out",
                   str(out)]) == 1
  _one_line_error(capsys, "char-CNN-RNN")
