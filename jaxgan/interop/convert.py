"""A converted checkpoint written as a jaxgan workdir (what `jaxgan convert` runs).

`biggan_pytorch(...)` and `cyclegan_pix2pix(...)` read the reference files and return a
`Converted`: the matched config (hyper-parameters the reference's, the data set the 'converted'
stand-in unless overridden), the converted networks' variables, the step, and notes for the
user (what was matched, what starts fresh). `write_workdir` builds the Experiment of that
config, puts the variables into a fresh train state (optimiser states fresh), and writes
config.json and the checkpoint with the engine's own writer into a temporary folder renamed
into place at the end: a failure leaves nothing behind, and an existing workdir is never
touched. `jaxgan sample`, `evaluate` and `train` (resuming) then work on it as on any run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import ml_collections

from jaxgan.config import apply_overrides, base_config, optimizer_config
from jaxgan.errors import JaxganError
from jaxgan.interop import biggan_pytorch as bp
from jaxgan.interop import cyclegan_pix2pix as cp
from jaxgan.interop.state_dicts import StateDict, load_pth, load_pth_tensors


@dataclasses.dataclass
class Converted:
  config: ml_collections.ConfigDict
  parts: dict  # TrainState field -> value, or {direction/domain: value} for CycleGAN's
  step: int
  notes: list


def _split(variables):
  return variables["params"], {k: v for k, v in variables.items() if k != "params"}


def _state_dict(path: str | None, name: str) -> StateDict | None:
  if not path:
    return None
  return StateDict(load_pth_tensors(path), f"{name} ({path})")


# ------------------------------------------------------------------------------ BigGAN-PyTorch

# BigGAN-PyTorch's train.py defaults (utils.prepare_parser), used without a state_dict.pth.
BIGGAN_DEFAULTS = dict(G_lr=5e-5, D_lr=2e-4, G_B1=0.0, D_B1=0.0, G_B2=0.999, D_B2=0.999,
                       adam_eps=1e-8, num_D_steps=2, batch_size=64, num_D_accumulations=1,
                       G_ortho=0.0, ema_decay=0.9999, ema_start=0, G_init="ortho",
                       D_init="ortho", BN_eps=1e-5)


def biggan_pytorch(g: str | None = None, g_ema: str | None = None, d: str | None = None,
                   state: str | None = None) -> Converted:
  g_sd, ema_sd = _state_dict(g, "G"), _state_dict(g_ema, "G_ema")
  d_sd = _state_dict(d, "D")
  settings, variables = bp.convert(g_sd, d_sd, ema_sd)
  notes, step, run = [], 0, dict(BIGGAN_DEFAULTS)
  if state:
    saved = load_pth(state)
    if "itr" not in saved:
      raise JaxganError(f"{state}: key 'itr' is missing (not BigGAN-PyTorch's state_dict.pth)")
    step = int(saved["itr"])
    run.update({k: v for k, v in dict(saved.get("config") or {}).items() if k in run})
    notes.append(f"step {step} and the run's hyper-parameters from {state}")
  else:
    notes.append("hyper-parameters: BigGAN-PyTorch's train.py defaults (give its "
                 "state_dict.pth for the run's own)")
  if float(run["BN_eps"]) != 1e-5:
    raise JaxganError(f"BN_eps {run['BN_eps']} in {state}: jaxgan's BigGAN uses 1e-5")
  c = base_config()
  c.paper, c.architecture, c.conditional = "biggan", "biggan", True
  c.data.name, c.data.image_size = "converted", settings["image_size"]
  c.data.channels, c.data.num_classes = settings["channels"], settings["num_classes"]
  c.latent_dim = settings["latent_dim"]
  accum = int(run["num_D_accumulations"])
  c.batch_size, c.grad_accum_steps = int(run["batch_size"]) * accum, accum
  c.n_critic = int(run["num_D_steps"])
  c.steps = max(step, 1)
  c.loss = "hinge"
  if float(run["G_ortho"]) > 0:
    c.g_terms.ortho_reg = dict(weight=float(run["G_ortho"]))
  c.optimizer.g = optimizer_config("adam", lr=float(run["G_lr"]), b1=float(run["G_B1"]),
                                   b2=float(run["G_B2"]), eps=float(run["adam_eps"]))
  c.optimizer.d = optimizer_config("adam", lr=float(run["D_lr"]), b1=float(run["D_B1"]),
                                   b2=float(run["D_B2"]), eps=float(run["adam_eps"]))
  if ema_sd is not None:
    c.ema = ml_collections.ConfigDict(dict(decay=float(run["ema_decay"]),
                                           start=int(run["ema_start"])))
  gen = dict(settings["generator"], init=bp.INITS.get(run["G_init"], "orthogonal"))
  c.generator = ml_collections.ConfigDict(gen)
  if "discriminator" in settings:
    disc = dict(settings["discriminator"])
  else:  # no D.pth: the reference's D for this size, fresh
    blocks = len(gen["channel_multipliers"])
    multipliers = bp.D_MULTIPLIERS.get(blocks, (1,) * blocks)
    disc = dict(ch=gen["ch"], channel_multipliers=multipliers,
                downsample=bp.D_DOWNSAMPLE_32 if blocks == 4 else (True,) * (blocks - 1) + (False,),
                attention_resolutions=gen["attention_resolutions"], spectral_norm=True)
    notes.append("no D.pth: D starts fresh (the reference's D for this size, ch as G's)")
  disc["init"] = bp.INITS.get(run["D_init"], "orthogonal")
  c.discriminator = ml_collections.ConfigDict(disc)
  parts = {}
  if g_sd is not None:
    parts["g_params"], parts["g_state"] = _split(variables["g"])
  if ema_sd is not None:
    ema_params, ema_state = _split(variables["ema"])
    parts["ema_params"] = ema_params
    if g_sd is None:  # G_ema alone: it is G too, with its own statistics and SN vectors
      parts["g_params"], parts["g_state"] = ema_params, ema_state
      notes.append("G_ema.pth alone: it serves as G and as the EMA")
    else:
      notes.append("G_ema's batch-norm statistics and SN vectors are not kept: jaxgan samples "
                   "the EMA with G's (or with standing statistics, --set standing_stats=N)")
  if d_sd is not None:
    parts["d_params"], parts["d_state"] = _split(variables["d"])
  notes.append("optimiser states start fresh")
  return Converted(c, parts, step, notes)


# ------------------------------------------------------------------ pytorch-CycleGAN-and-pix2pix


def _translation_base(trainer: str) -> ml_collections.ConfigDict:
  c = base_config()
  c.paper = c.trainer = c.architecture = trainer
  c.data.name = "converted"
  c.batch_size = 1
  c.steps = 200 * 1000
  # The reference's Adam(2e-4, beta1 0.5), constant for n_epochs then linearly to 0.
  c.optimizer.g = optimizer_config("adam", lr=2e-4, b1=0.5, lr_decay="linear", decay_start=0.5)
  c.optimizer.d = optimizer_config("adam", lr=2e-4, b1=0.5, lr_decay="linear", decay_start=0.5)
  c.augment = ml_collections.ConfigDict(dict(load_size=0, flip=True))
  return c


def _discriminator_section(arch: dict | None, conditional: bool | None = None):
  arch = arch or dict(receptive_field=70, base_features=64, norm="instance")
  section = dict(receptive_field=arch["receptive_field"], base_features=arch["base_features"],
                 max_multiplier=8, norm=arch["norm"])
  if conditional is not None:
    section["conditional"] = conditional
  return ml_collections.ConfigDict(section)


def cyclegan_pix2pix(model: str, g: str | None = None, g_b: str | None = None,
                     d: str | None = None, d_b: str | None = None,
                     image_size: int | None = None) -> Converted:
  """model 'pix2pix': g = latest_net_G.pth, d = latest_net_D.pth; model 'cyclegan': g =
  latest_net_G_A.pth (A -> B), g_b = latest_net_G_B.pth, d = latest_net_D_A.pth (judges B),
  d_b = latest_net_D_B.pth (judges A)."""
  if model not in ("pix2pix", "cyclegan"):
    raise JaxganError(f"model must be 'pix2pix' or 'cyclegan', got {model!r}")
  if not g:
    raise JaxganError(f"convert {model} needs the generator (latest_net_G"
                      f"{'_A' if model == 'cyclegan' else ''}.pth)")
  notes = []
  g_arch, g_vars, size = cp.convert_generator(_state_dict(g, "G" if model == "pix2pix" else "G_A"),
                                              image_size)
  wanted = "unet" if model == "pix2pix" else "resnet"
  if g_arch["kind"] != wanted:
    names = {"unet": "a U-Net (unet_256 / unet_128)", "resnet": "a ResNet generator (resnet_*)"}
    raise JaxganError(f"{g} holds {names[g_arch['kind']]}; jaxgan's {model} uses "
                      f"{names[wanted]}")
  notes.append(f"image size {size} ({'the U-Net depth' if wanted == 'unet' else 'default'}; "
               "--image-size to change)" if not image_size else f"image size {size}")
  if model == "pix2pix":
    c = _translation_base("pix2pix")
    c.loss, c.l1_weight, c.gan_weight = "non_saturating", 100.0, 1.0
    c.data.pairing = "paired"
    c.generator = ml_collections.ConfigDict(dict(
        base_features=g_arch["base_features"], max_multiplier=8, num_downs=g_arch["num_downs"],
        norm=g_arch["norm"], dropout=g_arch["dropout"], dropout_layers="code",
        paper_inference=False))
    notes.append("dropout 0.5 where the reference code puts it (dropout_layers='code'; state "
                 "dicts do not record it); sampling in eval mode (the reference's test.py "
                 "--eval; --set generator.paper_inference=true for its default)")
    d_arch = None
    if d:
      d_arch, d_vars = cp.convert_discriminator(_state_dict(d, "D"), size)
      if d_arch["input_nc"] != g_arch["input_nc"] + g_arch["output_nc"]:
        raise JaxganError(f"{d} reads {d_arch['input_nc']} channels; pix2pix's D reads the "
                          f"input and output ({g_arch['input_nc']} + {g_arch['output_nc']})")
    c.discriminator = _discriminator_section(d_arch or dict(
        receptive_field=70, base_features=64, norm=g_arch["norm"]), conditional=True)
    parts = {}
    parts["g_params"], parts["g_state"] = _split(g_vars)
    if d:
      parts["d_params"], parts["d_state"] = _split(d_vars)
    else:
      notes.append("no D file: D starts fresh (basic 70x70 PatchGAN, ndf 64)")
  else:
    c = _translation_base("cyclegan")
    c.loss, c.cycle_weight, c.identity_weight, c.pool_size = "least_squares", 10.0, 0.5, 50
    c.data.pairing = "unpaired"
    c.generator = ml_collections.ConfigDict(dict(
        base_features=g_arch["base_features"], num_blocks=g_arch["num_blocks"],
        norm=g_arch["norm"], dropout=g_arch["dropout"]))
    parts = {"g_params": {}, "g_state": {}, "d_params": {}, "d_state": {}}
    parts["g_params"]["ab"], parts["g_state"]["ab"] = _split(g_vars)
    if g_b:
      b_arch, b_vars, _ = cp.convert_generator(_state_dict(g_b, "G_B"), size)
      same = {k: v for k, v in b_arch.items() if k not in ("input_nc", "output_nc")}
      if (same != {k: v for k, v in g_arch.items() if k not in ("input_nc", "output_nc")}
          or (b_arch["input_nc"], b_arch["output_nc"]) != (g_arch["output_nc"],
                                                           g_arch["input_nc"])):
        raise JaxganError(f"{g_b} is not G_A's mirror: {b_arch} against {g_arch}")
      parts["g_params"]["ba"], parts["g_state"]["ba"] = _split(b_vars)
    else:
      notes.append("no G_B file: G_B (B -> A) starts fresh")
    d_arch = None
    for path, domain, name, channels in ((d, "b", "D_A", g_arch["output_nc"]),
                                         (d_b, "a", "D_B", g_arch["input_nc"])):
      if not path:
        notes.append(f"no {name} file: its discriminator starts fresh")
        continue
      arch, variables = cp.convert_discriminator(_state_dict(path, name), size)
      if arch["input_nc"] != channels:
        raise JaxganError(f"{path} reads {arch['input_nc']} channels, {name} judges images of "
                          f"{channels}")
      if d_arch is not None and {k: v for k, v in arch.items() if k != "input_nc"} != {
          k: v for k, v in d_arch.items() if k != "input_nc"}:
        raise JaxganError(f"{path} and the other discriminator differ: {arch} against {d_arch}")
      d_arch = arch
      parts["d_params"][domain], parts["d_state"][domain] = _split(variables)
    c.discriminator = _discriminator_section(d_arch)
  c.data.image_size = size
  c.data.channels, c.data.channels_b = g_arch["input_nc"], g_arch["output_nc"]
  if size == 256:
    c.augment.load_size = 286  # the reference's resize_and_crop default
  notes.append("optimiser states start fresh")
  return Converted(c, parts, 0, notes)


# --------------------------------------------------------------------------------- the workdir


def _merge(fresh, given, where: str):
  """`given` in place of `fresh`, checked leaf by leaf (paths and shapes); a dict of parts
  (CycleGAN's directions and domains) is merged key by key."""
  import jax  # pylint: disable=g-import-not-at-top
  from jaxgan.train.checkpoints import _leaf_signatures  # pylint: disable=g-import-not-at-top
  if isinstance(given, dict) and set(given) < set(fresh) and all(
      k in ("ab", "ba", "a", "b") for k in fresh):
    return {k: _merge(fresh[k], given[k], f"{where}/{k}") if k in given else fresh[k]
            for k in fresh}
  want = {p: s[0] for p, s in _leaf_signatures(fresh).items()}
  have = {p: s[0] for p, s in _leaf_signatures(given).items()}
  for path in sorted(set(want) | set(have)):
    if want.get(path) != have.get(path):
      raise JaxganError(f"converted {where}: {path} is {have.get(path, 'absent')}, the "
                        f"config's network has {want.get(path, 'absent')}")
  return jax.tree_util.tree_map(lambda f, g: jax.numpy.asarray(g, f.dtype), fresh, given)


# A config file for `jaxgan train --config WORKDIR/config.py --workdir WORKDIR ...` (resuming or
# fine-tuning): the config the workdir last ran with.
CONFIG_FILE = '''"""The config of this converted workdir: config.json beside this file, which holds
the latest run's config. Resume or fine-tune with
  jaxgan train --config WORKDIR/config.py --workdir WORKDIR --config.data.name=... \\
      --config.steps=N --allow-config-change
(--allow-config-change accepts the real data set in place of the 'converted' stand-in).
"""

import json
import os

import ml_collections


def get_config():
  with open(os.path.join(os.path.dirname(__file__), "config.json"), encoding="utf-8") as f:
    return ml_collections.ConfigDict(json.load(f))
'''


def write_workdir(workdir: str, converted: Converted) -> None:
  """The workdir: config.json, config_history.jsonl, config.py (for `jaxgan train`) and
  checkpoint `converted.step`."""
  import grain  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  from jaxgan.train.checkpoints import Checkpointer  # pylint: disable=g-import-not-at-top
  from jaxgan.train.experiment import Experiment  # pylint: disable=g-import-not-at-top
  from jaxgan.train.loop import record_config  # pylint: disable=g-import-not-at-top

  workdir = os.path.abspath(workdir)
  if os.path.exists(workdir) and (not os.path.isdir(workdir) or os.listdir(workdir)):
    raise JaxganError(f"{workdir} exists and is not empty: convert writes a new workdir")
  parent = os.path.dirname(workdir)
  if not os.path.isdir(parent):
    raise JaxganError(f"{parent}: no such folder")
  experiment = Experiment(converted.config)
  state = experiment.init_state()
  fields = {k: _merge(getattr(state, k), v, k) for k, v in converted.parts.items()}
  fields["step"] = jax.numpy.asarray(converted.step, state.step.dtype)
  state = jax.device_put(state.replace(**fields), experiment.state_sharding)
  # The position of a fresh data stream, for a run that resumes from here on real data.
  data_position = iter(grain.MapDataset.source([0]))
  tmp = os.path.join(parent, f".{os.path.basename(workdir)}.converting-{os.getpid()}")
  shutil.rmtree(tmp, ignore_errors=True)
  try:
    os.makedirs(tmp)
    checkpointer = Checkpointer(tmp, converted.config.keep_checkpoints)
    try:
      checkpointer.save(converted.step, state, data_position)
    finally:
      checkpointer.close()
    record_config(tmp, converted.config, converted.step)
    with open(os.path.join(tmp, "config.py"), "w", encoding="utf-8") as f:
      f.write(CONFIG_FILE)
    if os.path.isdir(workdir):
      os.rmdir(workdir)  # empty (checked above)
    os.rename(tmp, workdir)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)


def describe(converted: Converted) -> str:
  """The matched config as the user should see it: the network sections and data shape."""
  c = converted.config
  shown = {"trainer": c.trainer, "architecture": c.architecture,
           "data": {k: c.data[k] for k in ("name", "image_size", "channels", "channels_b",
                                           "num_classes", "pairing") if k in c.data},
           "latent_dim": c.latent_dim if c.architecture == "biggan" else None,
           "generator": c.generator.to_dict(), "discriminator": c.discriminator.to_dict()}
  return json.dumps({k: v for k, v in shown.items() if v is not None}, default=list)


def apply_user_overrides(converted: Converted, overrides: dict[str, str]) -> None:
  """--config.KEY=VALUE on the command line (e.g. the real data set), applied and checked."""
  if overrides:
    apply_overrides(converted.config, overrides)
