"""Experiment configs: the shared defaults, loading a config file, overrides and validation.

A config file in configs/ defines get_config() -> ConfigDict, usually starting from
`base_config()`. Every knob lives in the config; command-line overrides may only change keys
that exist, with values of the same type.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import os
import sys

import ml_collections

from jaxgan.errors import JaxganError

LOSSES = ("minimax", "non_saturating", "wasserstein", "hinge", "least_squares")
OPTIMIZERS = ("adam", "rmsprop", "sgd")


def optimizer_config(name="adam", lr=2e-4, b1=0.5, b2=0.999, eps=1e-8, decay=0.9, momentum=0.0,
                     lr_decay="constant", decay_start=0.0):
  """lr_decay 'linear' holds lr for the first decay_start * steps, then decays it linearly to
  zero at the last step (CycleGAN: decay_start=0.5)."""
  return ml_collections.ConfigDict(dict(name=name, lr=lr, b1=b1, b2=b2, eps=eps, decay=decay,
                                        momentum=momentum, lr_decay=lr_decay,
                                        decay_start=decay_start))


def base_config() -> ml_collections.ConfigDict:
  """Defaults every experiment shares; a config file overrides what its paper needs."""
  c = ml_collections.ConfigDict()
  c.paper = ""  # which paper the experiment reproduces (for logs and docs)
  c.trainer = "adversarial"  # a key of jaxgan.train.experiment.TRAINERS
  c.architecture = ""  # a key of jaxgan.models.ARCHITECTURES
  c.seed = 0
  c.steps = 1000  # generator updates
  c.batch_size = 64  # global, over all devices and processes
  c.grad_accum_steps = 1  # micro-batches per update (batch_size must divide evenly)
  c.n_critic = 1  # discriminator updates per generator update, each on its own real batch
  # WGAN's schedule: `iterations` critic updates for the first `first` generator iterations and
  # every `every`-th (0: never), n_critic otherwise; iterations 0: off.
  c.critic_boost = ml_collections.ConfigDict(dict(iterations=0, first=0, every=0))
  c.latent_dim = 100
  c.conditional = False  # feed the data set's labels to G and D (CGAN)
  c.compute_dtype = "float32"  # or 'bfloat16': params and optimiser state stay float32

  c.loss = "non_saturating"
  # Penalties and regularisers (jaxgan.train.terms): name -> dict(weight=..., every=1), e.g.
  # d_terms.gradient_penalty (WGAN-GP's lambda), d_terms.r1 (weight gamma/2), d_terms.drift
  # (ProGAN's epsilon), g_terms.ortho_reg (BigGAN's beta), g_terms.path_length (StyleGAN2's
  # pl_weight; style generators). every > 1: lazy, in its own phase.
  c.d_terms = ml_collections.ConfigDict()
  c.g_terms = ml_collections.ConfigDict()
  c.clip_value = 0.0  # WGAN's weight clipping c

  c.optimizer = ml_collections.ConfigDict()
  c.optimizer.g = optimizer_config()
  c.optimizer.d = optimizer_config()
  c.ema = ml_collections.ConfigDict(dict(decay=0.0, start=0))

  c.generator = ml_collections.ConfigDict()
  c.discriminator = ml_collections.ConfigDict()

  c.data = ml_collections.ConfigDict(dict(
      name="digits", path="", image_size=32, channels=1,
      fit="center_crop",  # non-square images: 'center_crop' or 'resize'
      data_dir="", train_split="train", test_split="test",
      # Two-image data sets (jaxgan.data.translation). Folders: layout 'side_by_side' (paired
      # A|B files; direction 'AtoB' or 'BtoA' picks the input half) or 'unpaired' (subfolders
      # trainA/ trainB/ testA/ testB/). tfds: domain_b 'split' (domain B from
      # train_split_b / test_split_b) or 'negative' (B the negatives of a disjoint half).
      layout="", direction="AtoB", domain_b="", train_split_b="", test_split_b="",
      # Captioned sets (captioned_digits, stackgan_cub/coco): the caption embedding of
      # captioned_digits, 'gru' (the bundled text encoder) or 'multihot' (the ablation).
      text_encoder="gru"))

  c.checkpoint_every = 1000
  c.keep_checkpoints = 3
  # Also keep the checkpoint with the best value of this evaluation score (e.g. 'fd'; with
  # keep_best_mode 'min' or 'max'), whatever keep_checkpoints deletes; '' for none.
  c.keep_best = ""
  c.keep_best_mode = "min"
  c.sample_every = 1000
  c.log_every = 100
  # Evaluators (jaxgan.train.evaluators): name -> dict(type=name, every=0, num_samples=...);
  # every 0: at the end of training only. `jaxgan evaluate` runs them all.
  c.evals = ml_collections.ConfigDict()
  c.eval = ml_collections.ConfigDict(dict(num_samples=2500, batch_size=500))
  c.sample_grid = 8  # the fixed-noise PNG grid is sample_grid x sample_grid
  # BigGAN's standing statistics: before sampling, G's batch-norm statistics are recomputed as
  # the average over this many batches (of batch_size) of G's own outputs; 0: off.
  c.standing_stats = 0

  # Multi-host: jax.distributed.initialize before anything touches the devices.
  # initialize: 'auto' (when a coordinator address is set here or in JAX_COORDINATOR_ADDRESS),
  # 'always' (let JAX detect the cluster: TPU pod slices, SLURM, Open MPI) or 'never'.
  # num_processes 0 / process_id -1: from JAX_NUM_PROCESSES / JAX_PROCESS_ID, else detected.
  c.distributed = ml_collections.ConfigDict(dict(
      initialize="auto", coordinator_address="", num_processes=0, process_id=-1))
  # FSDP-style: shard parameters and optimiser state over the 'data' axis instead of
  # replicating them (for models that do not fit on one device).
  c.shard_params = False
  # Convolution implementation (jaxgan.nn.backend): 'auto' uses the CPU workarounds on the
  # CPU only; 'xla' or 'cpu_workarounds' force one.
  c.conv_impl = "auto"
  return c


def load_config_file(path: str) -> ml_collections.ConfigDict:
  if not os.path.isfile(path):
    raise JaxganError(f"config file not found: {path}")
  spec = importlib.util.spec_from_file_location("jaxgan_config_" + os.path.basename(path)[:-3],
                                                path)
  module = importlib.util.module_from_spec(spec)
  # Configs build on each other (`from configs import dcgan_digits`): make their package root
  # importable wherever jaxgan is run from.
  root = os.path.dirname(os.path.dirname(os.path.abspath(path)))
  added = root not in sys.path
  if added:
    sys.path.insert(0, root)
  try:
    spec.loader.exec_module(module)
  except Exception as e:  # a broken config file is bad input, not a crash
    raise JaxganError(f"config file {path} failed to load: {type(e).__name__}: {e}") from e
  finally:
    if added:
      sys.path.remove(root)
  if not hasattr(module, "get_config"):
    raise JaxganError(f"config file {path} defines no get_config()")
  config = module.get_config()
  config.lock()  # from here on, a misspelt key is an error, not a silent new field
  return config


def _flat_keys(config, prefix=""):
  for key, value in config.items():
    if isinstance(value, ml_collections.ConfigDict):
      yield from _flat_keys(value, prefix + key + ".")
    else:
      yield prefix + key


def _parse_value(key: str, text: str, current):
  if isinstance(current, bool):
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
      return True
    if lowered in ("false", "0", "no"):
      return False
    raise JaxganError(f"config key {key} needs true or false, got {text!r}")
  if isinstance(current, str):
    return text
  try:
    value = ast.literal_eval(text)
  except (ValueError, SyntaxError):
    raise JaxganError(f"config key {key} needs a {type(current).__name__}, got {text!r}") from None
  if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
    value = float(value)
  if isinstance(current, (list, tuple)) and isinstance(value, (list, tuple)):
    return type(current)(value)
  if type(value) is not type(current):
    raise JaxganError(f"config key {key} needs a {type(current).__name__}, got {text!r}")
  return value


def apply_overrides(config, overrides: dict[str, str]):
  """Sets dotted keys from strings, typed like the existing values; unknown keys are errors."""
  known = list(_flat_keys(config))
  for key, text in overrides.items():
    if key not in known:
      close = difflib.get_close_matches(key, known, n=1)
      hint = f" (did you mean {close[0]}?)" if close else ""
      raise JaxganError(f"unknown config key {key}{hint}")
    *parents, leaf = key.split(".")
    node = config
    for p in parents:
      node = node[p]
    with node.unlocked():
      node[leaf] = _parse_value(key, text, node[leaf])
  return config


def validate(config, num_devices: int, num_processes: int = 1):
  """Fails early, with one line, on values the engine cannot run."""
  def need(ok, message):
    if not ok:
      raise JaxganError(message)

  from jaxgan.models import ARCHITECTURES  # pylint: disable=g-import-not-at-top
  need(config.architecture in ARCHITECTURES,
       f"unknown architecture {config.architecture!r}; expected one of {sorted(ARCHITECTURES)}")
  need(config.loss in LOSSES, f"unknown loss {config.loss!r}; expected one of {LOSSES}")
  for side in ("g", "d"):
    opt = config.optimizer[side]
    need(opt.name in OPTIMIZERS,
         f"unknown optimizer.{side}.name {opt.name!r}; expected one of {OPTIMIZERS}")
    need(opt.lr_decay in ("constant", "linear"),
         f"optimizer.{side}.lr_decay must be 'constant' or 'linear', got {opt.lr_decay!r}")
    need(opt.lr >= 0, f"optimizer.{side}.lr must be >= 0, got {opt.lr}")
    need(0.0 <= opt.get("decay_start", 0.0) < 1.0,
         f"optimizer.{side}.decay_start must be in [0, 1), got {opt.get('decay_start')}")
  for key in ("steps", "batch_size", "grad_accum_steps", "n_critic", "latent_dim",
              "checkpoint_every", "log_every", "keep_checkpoints"):
    need(config[key] >= 1, f"{key} must be >= 1, got {config[key]}")
  need(config.sample_every >= 0, f"sample_every must be >= 0, got {config.sample_every}")
  need(config.conv_impl in ("auto", "xla", "cpu_workarounds"),
       f"conv_impl must be 'auto', 'xla' or 'cpu_workarounds', got {config.conv_impl!r}")
  need(config.keep_best_mode in ("min", "max"),
       f"keep_best_mode must be 'min' or 'max', got {config.keep_best_mode!r}")
  boost = config.critic_boost
  need(boost.iterations >= 0 and boost.first >= 0 and boost.every >= 0,
       f"critic_boost values must be >= 0, got {dict(boost)}")
  need(config.compute_dtype in ("float32", "bfloat16"),
       f"compute_dtype must be float32 or bfloat16, got {config.compute_dtype!r}")
  need(config.data.fit in ("center_crop", "resize"),
       f"data.fit must be 'center_crop' or 'resize', got {config.data.fit!r}")
  need(0.0 <= config.ema.decay < 1.0, f"ema.decay must be in [0, 1), got {config.ema.decay}")
  b, k = config.batch_size, config.grad_accum_steps
  need(b % k == 0, f"batch_size {b} is not divisible by grad_accum_steps {k}")
  need((b // k) % num_devices == 0,
       f"batch_size {b} (micro-batch {b // k}) is not divisible by the {num_devices} devices")
  need(b % num_processes == 0, f"batch_size {b} is not divisible by the {num_processes} processes")
  need(config.get("standing_stats", 0) >= 0,
       f"standing_stats must be >= 0, got {config.get('standing_stats')}")
  distributed = config.get("distributed")
  if distributed is not None:
    need(distributed.initialize in ("auto", "always", "never"),
         "distributed.initialize must be 'auto', 'always' or 'never', got "
         f"{distributed.initialize!r}")
