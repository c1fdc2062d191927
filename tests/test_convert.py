"""jaxgan convert: reference PyTorch checkpoints -> jaxgan, proven by equal forward passes.

The reference networks are rebuilt in PyTorch with the reference code's state-dict layout
(jaxgan/interop/torch_reference), given random weights that nothing trivially cancels (biases,
BN gains, shifts and running statistics, attention gains, SN vectors), saved with torch.save
and converted; jaxgan's outputs must equal PyTorch's in evaluation mode, and one training-mode
call must move the batch-norm statistics and spectral-norm vectors alike. Then the command:
the workdir it writes samples the reference's function, and bad files are refused in one line
with nothing written. Skipped, saying why, where torch does not import. The full-width 128x128
BigGAN and 256x256 CycleGAN/pix2pix networks are opt-in (JAXGAN_SLOW_TESTS=1); CI runs the
same topologies narrowed.
"""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest

from tests.interop_helpers import TORCH_MISSING, max_diff, nchw, nhwc, randomise, torch

if torch is None:
  pytest.skip(TORCH_MISSING, allow_module_level=True)

# pylint: disable=g-import-not-at-top,wrong-import-position
from jaxgan import cli
from jaxgan.errors import JaxganError
from jaxgan.interop import biggan_pytorch as bp
from jaxgan.interop import convert
from jaxgan.interop import cyclegan_pix2pix as cp
from jaxgan.interop.state_dicts import StateDict, _flat, load_pth_tensors
from jaxgan.interop.torch_reference import biggan as ref_biggan
from jaxgan.interop.torch_reference import pix2pix as ref_pix2pix

SLOW = os.environ.get("JAXGAN_SLOW_TESTS", "") not in ("", "0")
TOL = 1e-4


def _saved(module, tmp_path, name):
  path = str(tmp_path / f"{name}.pth")
  torch.save(module.state_dict(), path)
  return StateDict(load_pth_tensors(path), name)


def _close(name, got, want, scale_by_output=False):
  """|jaxgan - torch| <= 1e-4 (logits: relative to their size when above 1); printed for the
  docs (pytest -s)."""
  diff = max_diff(got, want)
  bound = TOL * max(1.0, float(np.max(np.abs(want)))) if scale_by_output else TOL
  print(f"max |jaxgan - torch| {name}: {diff:.2e}")
  assert diff <= bound, f"{name}: {diff}"


def _same_tree(name, got, want):
  got, want = _flat(got), _flat(want)
  assert set(got) == set(want)
  _close(name, np.concatenate([np.ravel(got[k]) for k in sorted(got)]),
         np.concatenate([np.ravel(want[k]) for k in sorted(want)]))


# ------------------------------------------------------------------------------------- BigGAN

BIGGAN = {
    # jaxgan's biggan_digits architecture (16x16, one channel, shared embedding, hierarchical z).
    "digits": dict(g=dict(ch=8, channel_multipliers=(4, 4, 4), attention=(8,), dim_z=96,
                          shared_dim=32, n_classes=10, hier=True, out_channels=1),
                   d=dict(ch=8, channel_multipliers=(4, 4, 4), downsample=[True, True, False],
                          attention=(8,), n_classes=10, image_size=16, in_channels=1)),
    # BigGAN-PyTorch's CIFAR runs (launch_cifar_ema.sh): ch 64, no shared embedding (BN gains
    # per class), z of 128 whole, no attention; its 32x32 D.
    "cifar": dict(g=dict(ch=64, channel_multipliers=(4, 4, 4, 4), attention=(), dim_z=128,
                         shared_dim=0, n_classes=10, hier=False),
                  d=dict(ch=64, channel_multipliers=(4, 4, 4, 4),
                         downsample=[True, True, False, False], attention=(), n_classes=10,
                         image_size=32)),
    # The 128x128 ImageNet topology (attention at 64, z 120 in 6 chunks, 128-d shared
    # embedding, 1000 classes) at ch 8 instead of 96.
    "imagenet128_ch8": dict(g=dict(ch=8, attention=(64,)), d=dict(ch=8, attention=(64,))),
    "imagenet128": dict(g=dict(ch=96), d=dict(ch=96)),  # the release's; slow
}


@pytest.fixture(scope="module", params=[
    "digits", "cifar", "imagenet128_ch8",
    pytest.param("imagenet128", marks=pytest.mark.skipif(not SLOW, reason="JAXGAN_SLOW_TESTS=1"))])
def biggan(request, tmp_path_factory):
  case = BIGGAN[request.param]
  tmp = tmp_path_factory.mktemp("biggan")
  torch.manual_seed(0)
  g = randomise(ref_biggan.Generator(**case["g"]), 1).eval()
  d = randomise(ref_biggan.Discriminator(**case["d"]), 2).eval()
  settings, variables = bp.convert(_saved(g, tmp, "G"), _saved(d, tmp, "D"))
  generator, discriminator = bp.networks(settings)
  return request.param, g, d, settings, variables, generator, discriminator, tmp


def _biggan_inputs(settings, batch=3):
  rng = np.random.RandomState(0)
  z = rng.randn(batch, settings["latent_dim"]).astype(np.float32)
  y = rng.randint(0, settings["num_classes"], batch)
  size, c = settings["image_size"], settings["channels"]
  x = np.tanh(rng.randn(batch, size, size, c)).astype(np.float32)
  return z, y, x


def _torch_g(g, z, y):
  return nhwc(g(torch.from_numpy(z), g.shared(torch.from_numpy(y))))


def test_biggan_matches_the_reference_in_eval_and_train_mode(biggan):
  name, g, d, settings, variables, generator, discriminator, tmp = biggan
  z, y, x = _biggan_inputs(settings)
  with torch.no_grad():
    want_img, want_logit = _torch_g(g, z, y), d(nchw(x), torch.from_numpy(y)).numpy()[:, 0]
  _close(f"BigGAN {name} G eval", generator.apply(variables["g"], z, y, train=False), want_img)
  _close(f"BigGAN {name} D eval", discriminator.apply(variables["d"], x, y, train=False),
         want_logit, scale_by_output=True)
  # One training-mode call each: batch statistics, running averages and SN vectors move alike.
  g.train()
  d.train()
  with torch.no_grad():
    want_img, want_logit = _torch_g(g, z, y), d(nchw(x), torch.from_numpy(y)).numpy()[:, 0]
  img, g_updates = generator.apply(variables["g"], z, y, train=True,
                                   mutable=["batch_stats", "spectral"])
  logit, d_updates = discriminator.apply(variables["d"], x, y, train=True, mutable=["spectral"])
  g.eval()
  d.eval()
  _close(f"BigGAN {name} G train", img, want_img)
  _close(f"BigGAN {name} D train", logit, want_logit, scale_by_output=True)
  _, after = bp.convert(_saved(g, tmp, "G_after"), _saved(d, tmp, "D_after"))
  _same_tree(f"BigGAN {name} G BN statistics after one step", g_updates["batch_stats"],
             after["g"]["batch_stats"])
  _same_tree(f"BigGAN {name} G SN vectors after one step", g_updates["spectral"],
             after["g"]["spectral"])
  _same_tree(f"BigGAN {name} D SN vectors after one step", d_updates["spectral"],
             after["d"]["spectral"])


def test_biggan_settings_are_read_from_the_shapes(biggan):
  name, _, _, settings, _, _, _, _ = biggan
  expected = {"digits": (16, 1, 96, (8,), 32, True), "cifar": (32, 3, 128, (), 0, False),
              "imagenet128_ch8": (128, 3, 120, (64,), 128, True),
              "imagenet128": (128, 3, 120, (64,), 128, True)}[name]
  g = settings["generator"]
  assert (settings["image_size"], settings["channels"], settings["latent_dim"],
          g["attention_resolutions"], g["shared_dim"], g["hierarchical"]) == expected
  # ch and multipliers as the reference (and jaxgan's configs) name them
  d = settings["discriminator"]
  assert (g["ch"], g["channel_multipliers"], d["ch"], d["channel_multipliers"]) == {
      "digits": (8, (4, 4, 4), 8, (4, 4, 4)), "cifar": (64, (4, 4, 4, 4), 64, (4, 4, 4, 4)),
      "imagenet128_ch8": (8, (16, 16, 8, 4, 2, 1), 8, (1, 2, 4, 8, 16, 16)),
      "imagenet128": (96, (16, 16, 8, 4, 2, 1), 96, (1, 2, 4, 8, 16, 16))}[name]
  if name == "imagenet128":  # the paper's G and D sizes
    count = lambda tree: sum(int(np.prod(a.shape)) for a in jax.tree_util.tree_leaves(tree))
    assert count(biggan[4]["g"]["params"]) == 70_433_988
    assert count(biggan[4]["d"]["params"]) == 87_982_370


# ---------------------------------------------------------------------- CycleGAN and pix2pix

GENERATORS = {
    "resnet_9blocks": (lambda: ref_pix2pix.ResnetGenerator(3, 3, 8, "instance", False, 9), 64),
    "resnet_6blocks": (lambda: ref_pix2pix.ResnetGenerator(3, 1, 8, "batch", True, 6), 32),
    "unet_256": (lambda: ref_pix2pix.UnetGenerator(3, 3, 8, 4, "batch", True), 256),
    "unet_128": (lambda: ref_pix2pix.UnetGenerator(1, 3, 7, 8, "instance", True), 128),
}
SLOW_GENERATORS = {
    "resnet_9blocks_ngf64": (lambda: ref_pix2pix.ResnetGenerator(3, 3, 64, "instance", False, 9),
                             256),
    "unet_256_ngf64": (lambda: ref_pix2pix.UnetGenerator(3, 3, 8, 64, "batch", True), 256),
}


def _set_dropout(module, p):
  for m in module.modules():
    if isinstance(m, torch.nn.Dropout):
      m.p = p


@pytest.mark.parametrize("name", list(GENERATORS) + [
    pytest.param(n, marks=pytest.mark.skipif(not SLOW, reason="JAXGAN_SLOW_TESTS=1"))
    for n in SLOW_GENERATORS])
def test_translation_generators_match_the_reference(name, tmp_path):
  make, size = {**GENERATORS, **SLOW_GENERATORS}[name]
  torch.manual_seed(0)
  g = randomise(make(), 3).eval()
  arch, variables, _ = cp.convert_generator(_saved(g, tmp_path, "G"), size)
  module = cp.generator_module(arch)
  x = np.tanh(np.random.RandomState(0).randn(2, size, size, arch["input_nc"])).astype(np.float32)
  with torch.no_grad():
    want = nhwc(g(nchw(x)))
  _close(f"{name} eval", module.apply(variables, x, train=False), want)
  if arch["norm"] != "batch":
    return
  # Training mode with dropout off: batch statistics and the running averages' update.
  _set_dropout(g, 0.0)
  g.train()
  with torch.no_grad():
    want = nhwc(g(nchw(x)))
  got, updates = module.clone(dropout=0.0).apply(variables, x, train=True,
                                                 mutable=["batch_stats"])
  _close(f"{name} train", got, want)
  _, after, _ = cp.convert_generator(_saved(g, tmp_path, "G_after"), size)
  _same_tree(f"{name} BN statistics after one step", updates["batch_stats"],
             after["batch_stats"])


def test_unet_dropout_sits_where_the_reference_code_puts_it(tmp_path):
  # With every dropout dropping all (p = 1), outputs agree only when the same decoder layers
  # drop: the code's placement ('code'); the paper's first three differ.
  torch.manual_seed(0)
  g = randomise(ref_pix2pix.UnetGenerator(3, 3, 8, 2, "batch", True), 4)
  arch, variables, _ = cp.convert_generator(_saved(g, tmp_path, "G"), 256)
  _set_dropout(g, 1.0)
  g.train()
  x = np.tanh(np.random.RandomState(1).randn(2, 256, 256, 3)).astype(np.float32)
  with torch.no_grad():
    want = nhwc(g(nchw(x)))
  rngs = {"dropout": jax.random.PRNGKey(0)}
  module = cp.generator_module(arch).clone(dropout=1.0)
  got, _ = module.apply(variables, x, train=True, rngs=rngs, mutable=["batch_stats"])
  _close("unet_256 dropout layers 'code'", got, want)
  paper, _ = module.clone(dropout_layers="paper").apply(variables, x, train=True, rngs=rngs,
                                                        mutable=["batch_stats"])
  assert max_diff(paper, want) > 1e-2


@pytest.mark.parametrize("n_layers, norm, size", [(3, "batch", 64), (4, "instance", 128)],
                         ids=["basic_batch", "n_layers4_instance"])
def test_patchgan_matches_the_reference(n_layers, norm, size, tmp_path):
  torch.manual_seed(0)
  d = randomise(ref_pix2pix.NLayerDiscriminator(6, 8, n_layers, norm), 5).eval()
  arch, variables = cp.convert_discriminator(_saved(d, tmp_path, "D"), size)
  assert arch["receptive_field"] == {3: 70, 4: 142}[n_layers]
  module = cp.patchgan_module(arch)
  x = np.tanh(np.random.RandomState(0).randn(2, size, size, 6)).astype(np.float32)
  with torch.no_grad():
    want = d(nchw(x)).numpy()[:, 0]
  _close(f"PatchGAN n_layers {n_layers} {norm} eval", module.apply(variables, x, train=False),
         want, scale_by_output=True)
  if norm == "batch":
    d.train()
    with torch.no_grad():
      want = d(nchw(x)).numpy()[:, 0]
    got, updates = module.apply(variables, x, train=True, mutable=["batch_stats"])
    _close(f"PatchGAN n_layers {n_layers} {norm} train", got, want, scale_by_output=True)
    _, after = cp.convert_discriminator(_saved(d, tmp_path, "D_after"), size)
    _same_tree("PatchGAN BN statistics after one step", updates["batch_stats"],
               after["batch_stats"])


def test_reference_parameter_counts_equal_jaxgans():
  # unet_256 with batch norm: the reference's 54,413,955 (no bias on any down-convolution).
  g = ref_pix2pix.UnetGenerator(3, 3, 8, 64, "batch", True)
  assert sum(p.numel() for p in g.parameters()) == 54_413_955


# ----------------------------------------------------------------------------- refusals


def _g_state_dict():
  torch.manual_seed(0)
  g = randomise(ref_biggan.Generator(**BIGGAN["digits"]["g"]), 1)
  return {k: v.clone() for k, v in g.state_dict().items()}


@pytest.mark.parametrize("change, key", [
    (lambda sd: sd.update({"blocks.0.0.extra.weight": torch.zeros(3)}), "blocks.0.0.extra.weight"),
    (lambda sd: sd.pop("blocks.1.0.conv2.u0"), "blocks.1.0.conv2.u0"),
    (lambda sd: sd.update({"blocks.0.0.conv1.bias": torch.zeros(5)}), "blocks.0.0.conv1.bias"),
], ids=["unknown", "missing", "shape"])
def test_bad_keys_are_one_line_errors_and_nothing_is_written(change, key, tmp_path, capsys):
  sd = _g_state_dict()
  change(sd)
  path = str(tmp_path / "G.pth")
  torch.save(sd, path)
  with pytest.raises(JaxganError, match=key.replace(".", r"\.")):
    convert.biggan_pytorch(g=path)
  workdir = tmp_path / "out"
  assert cli.main(["convert", "biggan-pytorch", "--G", path, "--workdir", str(workdir)]) == 1
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and key in err[0] and err[0].startswith("jaxgan: error:")
  assert not workdir.exists() and sorted(os.listdir(tmp_path)) == ["G.pth"]


def test_files_that_are_not_state_dicts_are_refused(tmp_path):
  garbage = tmp_path / "G.pth"
  garbage.write_bytes(b"not a checkpoint")
  with pytest.raises(JaxganError, match="not a readable PyTorch checkpoint"):
    convert.biggan_pytorch(g=str(garbage))
  torch.save({"itr": 3}, str(garbage))
  with pytest.raises(JaxganError, match="not a tensor"):
    convert.biggan_pytorch(g=str(garbage))
  resnet = str(tmp_path / "resnet.pth")
  torch.save(ref_pix2pix.ResnetGenerator(3, 3, 4, "instance", False, 2).state_dict(), resnet)
  with pytest.raises(JaxganError, match="jaxgan's pix2pix uses a U-Net"):
    convert.cyclegan_pix2pix("pix2pix", g=resnet)


# ------------------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def converted_digits(tmp_path_factory):
  """G, G_ema (other weights, G's buffers), D and state_dict.pth of the digits BigGAN, and the
  workdir `jaxgan convert biggan-pytorch --dir` makes of them."""
  tmp = tmp_path_factory.mktemp("convert")
  files = tmp / "weights"
  files.mkdir()
  torch.manual_seed(0)
  g = randomise(ref_biggan.Generator(**BIGGAN["digits"]["g"]), 1).eval()
  g_ema = randomise(ref_biggan.Generator(**BIGGAN["digits"]["g"]), 7).eval()
  with torch.no_grad():
    for (_, mine), (_, theirs) in zip(g_ema.named_buffers(), g.named_buffers()):
      mine.copy_(theirs)  # jaxgan samples the EMA with G's statistics and SN vectors
  d = randomise(ref_biggan.Discriminator(**BIGGAN["digits"]["d"]), 2)
  for name, module in (("G", g), ("G_ema", g_ema), ("D", d)):
    torch.save(module.state_dict(), str(files / f"{name}.pth"))
  torch.save({"itr": 1500, "epoch": 12, "config": {"G_lr": 1e-4, "num_D_steps": 1,
                                                    "ema_decay": 0.999, "ema_start": 100}},
             str(files / "state_dict.pth"))
  workdir = tmp / "run"
  assert cli.main(["convert", "biggan-pytorch", "--dir", str(files), "--workdir", str(workdir),
                   "--set", "data.name=digits"]) == 0
  return g_ema, workdir, tmp


def test_converted_workdir_samples_the_references_ema_generator(converted_digits):
  g_ema, workdir, tmp = converted_digits
  load = cli._load_workdir  # pylint: disable=protected-access
  config, experiment, state, step = load(str(workdir))
  assert step == int(state.step) == 1500 and config.n_critic == 1 and config.optimizer.g.lr == 1e-4
  assert config.ema.decay == 0.999 and config.ema.start == 100
  z, y, _ = _biggan_inputs({"latent_dim": 96, "num_classes": 10, "image_size": 16,
                            "channels": 1})
  with torch.no_grad():
    want = _torch_g(g_ema, z, y)
  _close("converted workdir, EMA G", np.asarray(experiment.generate(state, z, y)), want)
  out = tmp / "samples.npz"
  assert cli.main(["sample", "--workdir", str(workdir), "--num", "6", "--out", str(out)]) == 0
  with np.load(out) as samples:
    assert samples["samples"].shape == (6, 16, 16, 1) and samples["labels"].shape == (6,)


def test_convert_never_overwrites_a_workdir(converted_digits, capsys):
  _, workdir, _ = converted_digits
  before = sorted(os.listdir(workdir))
  weights = str(workdir.parent / "weights")
  assert cli.main(["convert", "biggan-pytorch", "--dir", weights, "--workdir",
                   str(workdir)]) == 1
  assert "exists and is not empty" in capsys.readouterr().err
  assert sorted(os.listdir(workdir)) == before


def test_a_late_failure_leaves_nothing(converted_digits, capsys):
  # The data set is checked when the Experiment is built, after the weights were converted.
  _, workdir, _ = converted_digits
  target = workdir.parent / "late"
  weights = str(workdir.parent / "weights")
  assert cli.main(["convert", "biggan-pytorch", "--dir", weights, "--workdir", str(target),
                   "--set", "data.name=no_such_set"]) == 1
  assert "no_such_set" in capsys.readouterr().err
  assert not target.exists()
  assert not [p for p in os.listdir(workdir.parent) if "converting" in p]
