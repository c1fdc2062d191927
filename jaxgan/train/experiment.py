"""An experiment: the config turned into data, a trainer, evaluators and jitted, mesh-sharded
functions.

The training loop, `jaxgan sample` and `jaxgan evaluate` all start from one of these. What is
particular to a family of papers (state, phases, sampling) is its trainer's (see contract.py).
"""

from __future__ import annotations

import os

import jax
import numpy as np

from jaxgan import data as data_lib
from jaxgan.config import validate
from jaxgan.data.embedded import PointMixture
from jaxgan.data.pipeline import fetch_batch
from jaxgan.errors import JaxganError
from jaxgan.nn import backend
from jaxgan.train import evaluators as evaluators_lib
from jaxgan.train import parallel
from jaxgan.train.adversarial import AdversarialTrainer
from jaxgan.train.cogan import CoGANTrainer
from jaxgan.train.contract import Trainer
from jaxgan.train.cyclegan import CycleGANTrainer
from jaxgan.train.phases import (MAX_UNROLLED_REPEATS, ChunkedStep, SegmentedStep, compose_step,
                                 segment_step)
from jaxgan.train.pix2pix import Pix2PixTrainer
from jaxgan.train.stackgan import StackGANTrainer
from jaxgan.train.progan import ProGANTrainer

TRAINERS: dict[str, type[Trainer]] = {
    "adversarial": AdversarialTrainer,
    "pix2pix": Pix2PixTrainer,
    "cyclegan": CycleGANTrainer,
    "cogan": CoGANTrainer,
    "stackgan": StackGANTrainer,
    "progan": ProGANTrainer,
}

_PAIRINGS = {"": "one image per example", "paired": "paired (input, target) images",
             "unpaired": "unpaired images of two domains"}


def _build_error(config, info, error: Exception) -> str:
  """One line for a network that cannot be built, naming the config key when its value
  appears in the message."""
  text = (str(error).strip().splitlines() or [type(error).__name__])[0]
  suspects = []
  for section in ("generator", "discriminator"):
    for key, value in (config.get(section) or {}).items():
      if isinstance(value, str) and repr(value) in text:
        suspects.append(f"{section}.{key}")
  where = f" (config key {', '.join(suspects)})" if suspects else ""
  return (f"the {config.architecture!r} networks cannot be built for data of shape "
          f"{tuple(info.shape)}{where}: {text}")


def _check_no_empty_arrays(abstract_state):
  """A zero-size parameter (a width or a depth of 0 somewhere) trains silently and fails when
  it is checkpointed; refuse it now."""
  for path, leaf in jax.tree_util.tree_flatten_with_path(abstract_state)[0]:
    if 0 in getattr(leaf, "shape", ()):
      raise JaxganError(f"the config makes an empty array {jax.tree_util.keystr(path)} of shape "
                        f"{tuple(leaf.shape)}; a network size in the config is 0")


def _host_available_memory():
  """Linux's MemAvailable (free plus reclaimable cache), else free pages; None if unknown."""
  try:
    with open("/proc/meminfo", encoding="ascii") as f:
      for line in f:
        if line.startswith("MemAvailable:"):
          return int(line.split()[1]) * 1024
  except OSError:
    pass
  try:
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
  except (ValueError, OSError, AttributeError):
    return None


def _step_memory(compiled):
  """(bytes one device needs for the step, bytes it has, its name); None where unknown."""
  try:
    stats = compiled.memory_analysis()
    needed = (stats.argument_size_in_bytes + stats.output_size_in_bytes
              - stats.alias_size_in_bytes + stats.temp_size_in_bytes
              + stats.generated_code_size_in_bytes)
  except Exception:  # pylint: disable=broad-except  # not every backend reports it
    return None, None, ""
  device = jax.local_devices()[0]
  if device.platform == "cpu":
    # Forced host devices share the host's memory.
    return needed * jax.local_device_count(), _host_available_memory(), "the host"
  try:
    limit = device.memory_stats()["bytes_limit"]
  except Exception:  # pylint: disable=broad-except
    return needed, None, ""
  return needed, limit, f"{device.device_kind} ({device.platform})"


class Experiment:

  def __init__(self, config):
    self.config = config
    parallel.initialize_distributed(config)  # multi-host: before anything touches the devices
    self.mesh = parallel.make_mesh()
    validate(config, num_devices=len(jax.devices()), num_processes=jax.process_count())
    backend.set_conv_impl(config.conv_impl)
    if config.trainer not in TRAINERS:
      raise JaxganError(f"unknown trainer {config.trainer!r}; expected one of {sorted(TRAINERS)}")
    trainer_class = TRAINERS[config.trainer]
    self.source, self.info = data_lib.load(config.data, "train")
    if self.info.pairing != trainer_class.pairing:
      raise JaxganError(f"the {config.trainer!r} trainer needs {_PAIRINGS[trainer_class.pairing]}"
                        f", but data set {config.data.name!r} has {_PAIRINGS[self.info.pairing]}")
    key = jax.random.PRNGKey(config.seed)
    # The networks built abstractly for the data's shape: a value no rule can judge alone (a
    # size the image cannot take, a layer name a model does not know) fails here, in one line,
    # not at the first step or the first checkpoint.
    try:
      self.trainer: Trainer = trainer_class(config, self.info)
      abstract_state = jax.eval_shape(self.trainer.init_state, key)
    except JaxganError:
      raise
    except Exception as e:  # pylint: disable=broad-except
      raise JaxganError(_build_error(config, self.info, e)) from e
    _check_no_empty_arrays(abstract_state)
    self.evaluators = evaluators_lib.configured(config)
    evaluators_lib.check_evaluators(self.evaluators, self.trainer, self.trainer.output_names())

    self.replicated = parallel.replicated(self.mesh)
    self.batch_sharding = parallel.batch_sharded(self.mesh, leading_unsharded=1)
    # Replicated state (data parallel), or with shard_params its large arrays split over the
    # 'data' axis (FSDP-style). The abstract state carries this mesh's placement, so a
    # checkpoint written on any number of devices or processes restores onto this one.
    self.state_sharding = jax.tree_util.tree_map(lambda _: self.replicated, abstract_state)
    if config.get("shard_params", False):
      self.state_sharding = parallel.fsdp_shardings(self.mesh, abstract_state)
    self.abstract_state = jax.tree_util.tree_map(
        lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), abstract_state,
        self.state_sharding)
    self._init = jax.jit(self.trainer.init_state, out_shardings=self.state_sharding)
    self._key = key
    self.phases = self.trainer.phases(parallel.constrainer(self.mesh))
    self._steps = {}
    self._segments = {}  # SegmentedStep's jitted segments, shared by the step variants

  def abstract_batch(self, iteration: int = 0):
    """The shapes and placement of the global batch the step after `iteration` consumes."""
    if isinstance(self.source, PointMixture):  # sampled afresh per batch (pipeline.py)
      example = {"x": self.source.sample(1, np.random.default_rng(0))}
    else:
      example = fetch_batch(self.source, np.zeros(1, np.int64))
    n = self.trainer.real_batches(iteration)
    return {k: jax.ShapeDtypeStruct((n, self.config.batch_size, *v.shape[1:]), v.dtype,
                                    sharding=self.batch_sharding) for k, v in example.items()}

  def check_memory(self, iteration: int = 0):
    """Compiles the step after `iteration` ahead of time and refuses to start when XLA's
    estimate of its memory exceeds the device's (or, on the CPU, the host's available) memory.
    The compiled step is kept, so the check costs no second compilation."""
    variant = self.trainer.step_variant(self.phases, iteration)
    step = self.step_fn(iteration)
    if isinstance(step, SegmentedStep):  # each segment, compiled and kept, checked alone
      for names, lowered in step.lowered_segments(self.abstract_state,
                                                  self.abstract_batch(iteration)):
        if not isinstance(self._segments[names, step.real_batches], jax.stages.Compiled):
          self._segments[names, step.real_batches] = self._check_fits(lowered)
      return
    compiled = self._check_fits(step.lower(self.abstract_state, self.abstract_batch(iteration)))
    if isinstance(step, ChunkedStep):  # the chunk is the piece lowered and compiled here
      step.compiled_chunk = compiled
    else:
      self._steps[variant] = compiled

  def _check_fits(self, lowered):
    """lowered.compile(), or a JaxganError when it does not fit in memory."""
    try:
      compiled = lowered.compile()
    except Exception as e:  # pylint: disable=broad-except
      if "RESOURCE_EXHAUSTED" not in str(e) and not isinstance(e, MemoryError):
        raise
      raise JaxganError(f"the step does not fit in memory (batch_size {self.config.batch_size}): "
                        f"{str(e).strip().splitlines()[0]}") from e
    needed, available, where = _step_memory(compiled)
    if needed is not None and available is not None and needed > available:
      raise JaxganError(
          f"the step needs about {needed / 2**30:.1f} GiB but {where} has "
          f"{available / 2**30:.1f} GiB (batch_size {self.config.batch_size}, "
          f"grad_accum_steps {self.config.grad_accum_steps}): lower batch_size or raise "
          "grad_accum_steps")
    return compiled

  def init_state(self, workdir: str | None = None):
    """The fresh train state, completed by the trainer (`complete_init`) for `workdir`."""
    state = self._init(self._key)
    completed = self.trainer.complete_init(state, workdir)
    if self.config.get("init_from", ""):  # fine-tuning: another run's weights
      from jaxgan.train import init_from  # pylint: disable=g-import-not-at-top
      completed = init_from.apply(completed, self.config.init_from)
    if completed is not state:
      state = jax.device_put(completed, self.state_sharding)
    return state

  def step_fn(self, iteration: int):
    """The jitted step for the step after `iteration` G updates: one per distinct variant
    (critic updates, phases due), compiled on first use."""
    variant = self.trainer.step_variant(self.phases, iteration)
    if variant not in self._steps and variant.real_batches > MAX_UNROLLED_REPEATS:
      self._steps[variant] = ChunkedStep(self.phases, variant, self.trainer.num_keys,
                                         self.state_sharding, self.batch_sharding, self.replicated)
    if variant not in self._steps and any(p.every > 1 for p in self.phases):
      # Lazy phases: one compiled segment per run of phases, shared by the variants.
      self._steps[variant] = SegmentedStep(self.phases, variant, self.trainer.num_keys,
                                           self._segment, self.state_sharding, self.replicated)
    if variant not in self._steps:
      step = compose_step(self.phases, variant, self.trainer.num_keys)
      self._steps[variant] = jax.jit(
          step, in_shardings=(self.state_sharding, self.batch_sharding),
          out_shardings=(self.state_sharding, self.replicated), donate_argnums=0)
    return self._steps[variant]

  def _segment(self, names: tuple[str, ...], real_batches: int):
    """The jitted segment of a SegmentedStep (phases.segment_step), compiled once."""
    if (names, real_batches) not in self._segments:
      self._segments[names, real_batches] = jax.jit(
          segment_step(self.phases, names, real_batches),
          in_shardings=(self.state_sharding, self.batch_sharding, self.replicated, None),
          out_shardings=(self.state_sharding, self.replicated, None), donate_argnums=0)
    return self._segments[names, real_batches]

  def train_step(self, state, batch):
    """One step from `state` (reads its step counter from the device: tests and tools)."""
    return self.step_fn(int(state.step))(state, batch)

  def next_batch(self, iterator, iteration: int = 0):
    """The real batches the step after `iteration` G updates consumes, as a global batch with
    leaves [n, B, ...]."""
    local = [next(iterator) for _ in range(self.trainer.real_batches(iteration))]
    return self.place_batch(local)

  def place_batch(self, local_batches: list[dict]):
    stacked = {k: np.stack([b[k] for b in local_batches]) for k in local_batches[0]}
    return parallel.to_global(stacked, self.batch_sharding, batch_axis=1)

  def train_iterator(self):
    return data_lib.train_iterator(self.source, self.config.batch_size, self.config.seed,
                                   jax.process_index(), jax.process_count())

  def evaluate(self, state, num_samples: int | None = None, truncation: float | None = None,
               evaluators=None) -> dict:
    return evaluators_lib.run(self.evaluators if evaluators is None else evaluators,
                              self.trainer, state, num_samples, truncation)

  # Convenience for the single-G trainers, which most tests and tools use.
  @property
  def nets(self):
    return self.trainer.nets

  def latents(self, key, num: int, labels=None):
    return self.trainer.latents(key, num, labels)

  def generate(self, state, z, labels=None, batch_size: int = 500):
    return self.trainer.generate(state, z, labels, batch_size)
