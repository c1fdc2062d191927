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
                     lr_decay="constant", decay_start=0.0, decay_every=0, decay_factor=0.5,
                     weight_decay=0.0):
  """lr_decay 'linear' holds lr for the first decay_start * steps, then decays it linearly to
  zero at the last step (CycleGAN: decay_start=0.5); 'step' multiplies it by decay_factor after
  every decay_every updates (StackGAN: halved every 100 epochs). weight_decay adds
  weight_decay * w to the gradient of every weight (kernel; not biases, norms or slopes) before
  the optimiser, as Caffe's and PyTorch's weight decay (CoGAN: 5e-4)."""
  return ml_collections.ConfigDict(dict(name=name, lr=lr, b1=b1, b2=b2, eps=eps, decay=decay,
                                        momentum=momentum, lr_decay=lr_decay,
                                        decay_start=decay_start, decay_every=decay_every,
                                        decay_factor=decay_factor, weight_decay=weight_decay))


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
  # z's distribution: 'normal' N(0, I) or 'uniform' U[-1, 1] per component (GAN, CGAN, DCGAN
  # and CoGAN draw uniform z; jaxgan.train.networks.draw_latents).
  c.latent = ml_collections.ConfigDict(dict(distribution="normal"))
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
  # DiffAugment (Zhao et al. 2020) on every image D sees, e.g. "color,translation,cutout";
  # "" for none. Image GANs of the adversarial trainer only (jaxgan.augment).
  c.diffaugment = ""
  # Top-k training (Sinha et al. 2020): G's loss over the k of each (micro-)batch's fakes that D
  # scores highest; k = max(gamma ** (step // every), min_fraction) of the batch (at least 1).
  # The paper: gamma 0.99 per epoch, min_fraction (its nu) 0.5-0.75. min_fraction 1: off.
  c.top_k = ml_collections.ConfigDict(dict(min_fraction=1.0, gamma=0.99, every=1))
  # One-sided label smoothing (Salimans et al. 2016): D's target on reals is 1 - this (0.1: the
  # paper's 0.9), fakes keep 0. Cross-entropy losses (minimax, non_saturating) only; 0: off.
  c.label_smoothing = 0.0
  # InfoGAN (Chen et al. 2016): a categorical code of `categories` values, drawn uniformly and
  # fed to G one-hot after z; D's head Q predicts it from D's features, and G and Q (with D's
  # body) minimise `weight` x its cross-entropy (the paper's mutual-information bound; weight 1
  # for categorical codes). Unconditional DCGANs of the adversarial trainer; 0: off.
  c.info_code = ml_collections.ConfigDict(dict(categories=0, weight=1.0, continuous=0))

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
      # captioned_digits: 'gru_cca' (the bundled text encoder in canonical coordinates), 'gru'
      # (its raw outputs, as runs before the projection) or 'multihot' (the ablation).
      text_encoder="gru_cca",
      # captioned_digits: only the images on these background colours ('red,blue'; '': all).
      backgrounds="",
      # StackGAN's mismatched text: 'other' (another example's caption, the reference's);
      # captioned_digits also 'class_swap' (the same caption with another digit word) and
      # 'mixed' (half the batch each): jaxgan/train/stackgan.py.
      wrong_caption="other"))

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
  # inception_weights: the converted FID Inception .npz (`jaxgan inception convert`); '' falls
  # back to $JAXGAN_INCEPTION_WEIGHTS.
  c.eval = ml_collections.ConfigDict(dict(num_samples=2500, batch_size=500,
                                          inception_weights=""))
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
  # jax.checkpoint per residual block (BigGAN/SAGAN G and D, StyleGAN2's synthesis layers):
  # activations recomputed in the backward pass instead of stored, for larger batches per
  # device at about one more forward pass. Other architectures refuse it.
  c.remat = False
  # JAX's persistent compilation cache for training runs: 'auto' ($JAXGAN_XLA_CACHE, else
  # ~/.cache/jaxgan/xla), 'off', or a folder. A second start of the same step skips XLA.
  c.compilation_cache = "auto"
  # Fine-tuning: start from the weights of checkpoint STEP (default the latest) of another run,
  # 'WORKDIR[:STEP]' (jaxgan.train.init_from); '' starts from the seed's initialisation.
  c.init_from = ""
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
  kind = {"int": "an integer", "float": "a number", "tuple": "a tuple", "list": "a list"}.get(
      type(current).__name__, f"a {type(current).__name__}")
  try:
    value = ast.literal_eval(text)
  except (ValueError, SyntaxError):
    raise JaxganError(f"config key {key} needs {kind}, got {text!r}") from None
  if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
    value = float(value)
  if isinstance(current, (list, tuple)) and isinstance(value, (list, tuple)):
    return type(current)(value)
  if type(value) is not type(current):
    raise JaxganError(f"config key {key} needs {kind}, got {text!r}")
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


# ---------------------------------------------------------------- the validation table
#
# Every key a config may hold has a rule here: a pattern of dotted keys ('*' matches one part)
# and a check returning None or what the value should be. `validate` applies them to every key
# before anything runs, and refuses a key that no rule covers, so a new key cannot be added
# without its check (tests/test_reliability.py also walks base_config() and every config file).


def _int(lo=None, hi=None):
  def check(v):
    if isinstance(v, bool) or not isinstance(v, int):
      return "an integer"
    if (lo is not None and v < lo) or (hi is not None and v > hi):
      return (f">= {lo}" if hi is None else f"<= {hi}" if lo is None else f"in [{lo}, {hi}]")
    return None
  return check


def _float(lo=None, hi=None, hi_open=False):
  def check(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v in (
        float("inf"), float("-inf")):
      return "a finite number"
    if (lo is not None and v < lo) or (hi is not None and (v >= hi if hi_open else v > hi)):
      return f">= {lo:g}" if hi is None else f"in [{lo:g}, {hi:g}{')' if hi_open else ']'}"
    return None
  return check


def _choice(*values):
  def check(v):
    return None if v in values else "one of " + ", ".join(repr(x) for x in values)
  return check


def _bool(v):
  return None if isinstance(v, bool) else "true or false"


def _str(v):
  return None if isinstance(v, str) else "a string"


def _ints(lo):
  def check(v):
    if not isinstance(v, (tuple, list)) or any(
        isinstance(x, bool) or not isinstance(x, int) or x < lo for x in v):
      return f"a tuple of integers >= {lo}"
    return None
  return check


def _bools(v):
  if not isinstance(v, (tuple, list)) or any(not isinstance(x, bool) for x in v):
    return "a tuple of true/false"
  return None


def _seed(v):
  # jax.random.PRNGKey takes an unsigned 32-bit seed; a negative one fails inside jit.
  return _int(0, 2**32 - 1)(v)


def _init_from(v):
  """'' (off), 'WORKDIR' or 'WORKDIR:STEP' (jaxgan.train.init_from)."""
  if not isinstance(v, str):
    return "a string: '' or WORKDIR[:STEP]"
  if v.startswith(":") or v.endswith(":"):
    return "WORKDIR or WORKDIR:STEP (STEP a number)"
  return None


def _architecture(v):
  from jaxgan.models import ARCHITECTURES  # pylint: disable=g-import-not-at-top
  return _choice(*sorted(ARCHITECTURES))(v)


# The network sections hold what each architecture's build() reads; their values are checked
# by kind of key here and, with the data's shape, by building the networks abstractly
# (Experiment). Sizes must be >= 1: a zero width makes empty arrays that train until the first
# checkpoint and then fail.
_NET_SIZES = ("base_features", "ch", "hidden", "z_hidden", "label_hidden", "x_hidden",
              "joint_hidden", "max_multiplier", "receptive_field",
              "channel_multipliers", "attention_resolutions")
NORMS = ("batch", "layer", "instance", "none")
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "elu")
INITS = ("orthogonal", "glorot", "normal")


def _net(key, v):
  leaf = key.rsplit(".", 1)[-1]
  if leaf == "norm":
    return _choice(*NORMS)(v)
  if leaf == "act":
    return _choice(*ACTIVATIONS)(v)
  if leaf == "init":
    return _choice(*INITS)(v)
  if leaf == "truncation_cutoff":  # StyleGAN's layer cutoff; None: every layer (StyleGAN2)
    return None if v is None else _int(0)(v)
  if leaf in ("dropout", "input_dropout"):
    return _float(0.0, 1.0, hi_open=True)(v)
  if leaf == "dropout_layers":  # pix2pix's U-Net: the paper's decoder layers or the code's
    return _choice("paper", "code")(v)
  if isinstance(v, bool):
    return None
  if isinstance(v, int):
    return _int(1 if leaf in _NET_SIZES else 0)(v)
  if isinstance(v, float):
    return _float(0.0)(v)
  if isinstance(v, (tuple, list)):
    return _bools(v) if v and all(isinstance(x, bool) for x in v) else _ints(1)(v)
  return "a number, true/false or a tuple (network sections hold sizes and layer names)"


_EVERY = _int(0)  # 0: never (or only at the end, as each key says)
RULES = {
    "paper": _str,
    "trainer": _str,  # checked against TRAINERS by Experiment
    "architecture": _architecture,
    "seed": _seed,
    "steps": _int(1),
    "batch_size": _int(1),
    "grad_accum_steps": _int(1),
    "n_critic": _int(1),
    "critic_boost.*": _int(0),
    "latent_dim": _int(1),
    "latent.distribution": _choice("normal", "uniform"),
    "conditional": _bool,
    "compute_dtype": _choice("float32", "bfloat16"),
    "loss": _choice(*LOSSES),
    "d_terms.*.weight": _float(0.0),
    "d_terms.*.every": _int(1),
    "g_terms.*.weight": _float(0.0),
    "g_terms.*.every": _int(1),
    # Other keys of a term: refused by terms.active_terms, naming the keys a term takes.
    "d_terms.*.**": lambda key, v: None,
    "g_terms.*.**": lambda key, v: None,
    "clip_value": _float(0.0),
    "optimizer.*.name": _choice(*OPTIMIZERS),
    "optimizer.*.lr": _float(0.0),
    "optimizer.*.b1": _float(0.0, 1.0, hi_open=True),
    "optimizer.*.b2": _float(0.0, 1.0, hi_open=True),
    "optimizer.*.eps": _float(0.0),
    "optimizer.*.decay": _float(0.0, 1.0, hi_open=True),
    "optimizer.*.momentum": _float(0.0, 1.0, hi_open=True),
    "optimizer.*.lr_decay": _choice("constant", "linear", "step"),
    "optimizer.*.decay_every": _int(0),  # lr_decay 'step': the rate times decay_factor every k
    "optimizer.*.decay_factor": _float(0.0, 1.0),
    "optimizer.*.decay_start": _float(0.0, 1.0, hi_open=True),
    "optimizer.*.weight_decay": _float(0.0),
    "ema.decay": _float(0.0, 1.0, hi_open=True),
    "ema.start": _int(0),
    "ema.rampup": _float(0.0),  # optional (StyleGAN2-ADA's ema_rampup); absent means 0: none
    "generator.**": _net,
    "discriminator.**": _net,
    "data.name": _str,  # checked against the data registry when loading
    "data.path": _str,
    "data.image_size": _int(1),
    "data.channels": _choice(1, 3),
    "data.fit": _choice("center_crop", "resize"),
    "data.data_dir": _str,
    "data.train_split": _str,
    "data.test_split": _str,
    # Checked by the data set's builder when Experiment loads it (before any write), with
    # messages that say which data set takes which value.
    "data.layout": _str,
    "data.direction": _str,
    "data.domain_b": _str,
    "data.train_split_b": _str,
    "data.test_split_b": _str,
    "data.text_encoder": _choice("gru_cca", "gru", "multihot"),
    "data.backgrounds": _str,  # colour names, checked by captioned_digits' loader
    "data.wrong_caption": _choice("other", "class_swap", "mixed"),
    # data.name='converted' (a converted checkpoint's stand-in, jaxgan/data/converted.py).
    "data.num_classes": _int(0),
    "data.pairing": _choice("", "paired", "unpaired"),
    "data.channels_b": _choice(0, 1, 3),
    "top_k.min_fraction": _float(0.0, 1.0),
    "top_k.gamma": _float(0.0, 1.0),
    "top_k.every": _int(1),
    "label_smoothing": _float(0.0, 1.0, hi_open=True),
    "info_code.categories": _int(0),  # 1 is refused by validate: a code needs 2 values
    "info_code.weight": _float(0.0),
    "info_code.continuous": _int(0),  # U(-1, 1) codes beside the categorical one (InfoGAN: 2)
    "diffaugment": _str,  # its policy is parsed by validate (jaxgan.augment.parse_policy)
    "checkpoint_every": _int(1),
    "keep_checkpoints": _int(1),
    "keep_best": _str,
    "keep_best_mode": _choice("min", "max"),
    "sample_every": _EVERY,
    "log_every": _int(1),
    "evals.*.type": _str,  # checked against EVALUATORS by evaluators.configured
    "evals.*.every": _EVERY,
    "evals.*.num_samples": _int(1),
    # Other keys of an evaluator: refused by evaluators.configured, naming the keys it takes.
    "evals.*.**": lambda key, v: None,
    "eval.num_samples": _int(1),
    "eval.batch_size": _int(1),
    "eval.inception_weights": _str,  # found (or a one-line error) by the inception evaluator
    "sample_grid": _int(1, 64),  # a 64x64 grid is 4096 pictures: more is a typo
    "standing_stats": _int(0),
    "distributed.initialize": _choice("auto", "always", "never"),
    "distributed.coordinator_address": _str,
    "distributed.num_processes": _int(0),
    "distributed.process_id": _int(-1),
    "shard_params": _bool,
    "conv_impl": _choice("auto", "xla", "cpu_workarounds"),
    "remat": _bool,  # refused by validate for architectures without residual blocks to wrap
    "compilation_cache": _str,  # 'auto', 'off' or a folder (jaxgan.train.compilation_cache)
    "init_from": _init_from,  # the donor's files are checked when a run starts
    # Trainer-specific keys (pix2pix, CycleGAN).
    "augment.load_size": _int(0),
    "augment.flip": _bool,
    "l1_weight": _float(0.0),
    "gan_weight": _float(0.0),
    "cycle_weight": _float(0.0),
    "identity_weight": _float(0.0),
    "pool_size": _int(0),
    # ProGAN's growth (train/progan.py): images per fade-in and per stable phase, in thousands.
    "growth.fade_kimg": _float(0.0),
    "growth.stable_kimg": _float(0.0),
    "growth.batch_sizes": _ints(1),  # per stage from 4x4 up; () = batch_size at every stage
    # StackGAN.
    "stage": _choice(1, 2),
    "stage1_size": _int(4),
    "stage1_workdir": _str,
    "condition_dim": _int(1),
    "kl_weight": _float(0.0),
}


# The architectures whose blocks config.remat wraps in jax.checkpoint.
REMAT_ARCHITECTURES = ("biggan", "sagan", "stylegan2")


def rule_for(key: str):
  """The rule covering dotted `key`, or None. '*' matches one part, a trailing '**' the rest."""
  parts = key.split(".")
  for pattern, rule in RULES.items():
    pat = pattern.split(".")
    if pat[-1] == "**":
      if len(parts) > len(pat) - 1 and all(p in ("*", k) for p, k in zip(pat[:-1], parts)):
        return rule, True
    elif len(pat) == len(parts) and all(p in ("*", k) for p, k in zip(pat, parts)):
      return rule, False
  return None


def _value(config, key):
  node = config
  for part in key.split("."):
    node = node[part]
  return node


def check_keys(config):
  """Every key's type and range, by the table above; the first bad one as a one-line error."""
  for key in _flat_keys(config):
    found = rule_for(key)
    if found is None:
      raise JaxganError(f"unknown config key {key} (no validation rule covers it; a new key "
                        "needs one in jaxgan.config.RULES)")
    rule, takes_key = found
    value = _value(config, key)
    wanted = rule(key, value) if takes_key else rule(value)
    if wanted is not None:
      raise JaxganError(f"config key {key} must be {wanted}, got {value!r}")


# The architectures whose D has InfoGAN's head Q (config info_code).
INFO_CODE_ARCHITECTURES = ("dcgan",)

# The trainers whose losses are the adversarial trainer's (jaxgan.train.adversarial).
ADVERSARIAL_TRAINERS = ("adversarial", "cogan", "progan")


def validate(config, num_devices: int, num_processes: int = 1):
  """Fails early, with one line, on values the engine cannot run."""
  def need(ok, message):
    if not ok:
      raise JaxganError(message)

  check_keys(config)
  for side in ("g", "d"):
    opt = config.optimizer[side]
    need(opt.lr_decay != "step" or opt.decay_every >= 1,
         f"optimizer.{side}.decay_every must be >= 1 with lr_decay 'step', got {opt.decay_every}")
  policy = config.get("diffaugment", "")
  if policy:
    from jaxgan import augment  # pylint: disable=g-import-not-at-top
    try:
      augment.parse_policy(policy)
    except ValueError as e:
      raise JaxganError(f"diffaugment: {e}") from None
    need(config.trainer == "adversarial",
         f"diffaugment is an option of the adversarial trainer, not of {config.trainer!r}")
  need(not config.data.get("backgrounds", "") or config.data.name == "captioned_digits",
       f"data.backgrounds picks captioned_digits' background colours; data.name is "
       f"{config.data.name!r}")
  need(config.data.get("wrong_caption", "other") == "other" or (
      config.data.name == "captioned_digits" and config.trainer == "stackgan"),
       f"data.wrong_caption {config.data.get('wrong_caption')!r} swaps the digit word of "
       f"captioned_digits' captions for the stackgan trainer; data.name is "
       f"{config.data.name!r}, trainer {config.trainer!r}")
  top_k = config.get("top_k")
  need(top_k is None or top_k.min_fraction >= 1.0 or config.trainer in ADVERSARIAL_TRAINERS,
       f"top_k is an option of the {', '.join(ADVERSARIAL_TRAINERS)} trainers, not of "
       f"{config.trainer!r}")
  if config.get("label_smoothing", 0.0) > 0:
    need(config.trainer in ADVERSARIAL_TRAINERS,
         f"label_smoothing is an option of the {', '.join(ADVERSARIAL_TRAINERS)} trainers, not "
         f"of {config.trainer!r}")
    need(config.loss in ("minimax", "non_saturating"),
         "label_smoothing smooths the cross-entropy's real targets (loss 'minimax' or "
         f"'non_saturating'), not loss {config.loss!r}")
  code = config.get("info_code")
  need(code is None or code.categories > 0 or not code.get("continuous", 0),
       "info_code.continuous needs the categorical code too (info_code.categories >= 2)")
  if code is not None and code.categories > 0:
    need(code.categories >= 2, "info_code.categories must be 0 (off) or >= 2, got 1")
    need(config.trainer == "adversarial",
         f"info_code is an option of the adversarial trainer, not of {config.trainer!r}")
    need(config.architecture in INFO_CODE_ARCHITECTURES,
         f"info_code needs a discriminator with InfoGAN's head Q "
         f"({', '.join(INFO_CODE_ARCHITECTURES)}); architecture {config.architecture!r} has none")
    need(not config.conditional,
         "info_code is an unsupervised code for unconditional models; set conditional=False")
  need(not config.get("remat", False) or config.architecture in REMAT_ARCHITECTURES,
       f"remat wraps the residual blocks of {', '.join(REMAT_ARCHITECTURES)}; architecture "
       f"{config.architecture!r} has none (set remat=False)")
  b, k = config.batch_size, config.grad_accum_steps
  need(b % k == 0, f"batch_size {b} is not divisible by grad_accum_steps {k}")
  need((b // k) % num_devices == 0,
       f"batch_size {b} (micro-batch {b // k}) is not divisible by the {num_devices} devices")
  need(b % num_processes == 0, f"batch_size {b} is not divisible by the {num_processes} processes")
