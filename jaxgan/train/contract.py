"""The trainer contract: everything the loop, the Experiment and the command line may call.

A trainer holds what is particular to a family of papers: its train state, the phases of its
step, how it samples and what it hands the evaluators. The loop, the mesh, data, checkpoints
and metrics are the engine's. Every trainer in `jaxgan.train.experiment.TRAINERS` satisfies
`Trainer` (tests/test_contract.py checks it statically).
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Protocol, Sequence, runtime_checkable

import numpy as np

from jaxgan import visualize
from jaxgan.errors import JaxganError
from jaxgan.train.phases import Phase, Variant, variant_at
from jaxgan.train.state import TrainState


@runtime_checkable
class Trainer(Protocol):
  config: Any  # the ml_collections config
  info: Any  # jaxgan.data.base.DataInfo of the training data

  # The DataInfo.pairing its steps read: '' (one image or point per example), 'paired'
  # (input, target) or 'unpaired' (two domains). The Experiment checks it against the data.
  pairing: ClassVar[str]
  # Whether its generators read N(0, I) latents that the truncation trick applies to.
  supports_truncation: ClassVar[bool]
  # How many keys one step splits off the state's key for its phases (Phase.key_slot).
  num_keys: ClassVar[int]

  def init_state(self, key) -> TrainState:
    """The initial state; pure, so jax.eval_shape gives the abstract state for restoring."""

  def phases(self, constrain: Callable) -> Sequence[Phase]:
    """The step's phases in order; constrain(x) pins a [batch, ...] array to the data axis."""

  def real_batches(self, iteration: int) -> int:
    """Real batches the step after `iteration` G updates consumes (its critic updates)."""

  def generate_outputs(self, state, num: int, seed: int | None,
                       truncation: float | None = None) -> dict[str, np.ndarray]:
    """Named float arrays of `num` generated examples (images in [-1, 1], points, labels,
    inputs/targets/translations): what `sample` writes and evaluators score. seed None: the
    fixed evaluation draw."""

  def output_names(self) -> set[str]:
    """The names generate_outputs returns (evaluators are checked against them)."""

  def generate_seeds(self, state, seeds: Sequence[int], label: int | None = None,
                     truncation: float | None = None) -> dict[str, np.ndarray]:
    """generate_outputs with one example per seed, row i a function of seeds[i] alone (the
    same whatever the other seeds asked): what `jaxgan generate` writes. label: the class of
    class-conditional models (default: seed mod num_classes); JaxganError for others."""

  def interpolate(self, state, seeds: Sequence[int], frames: int, label: int | None = None,
                  truncation: float | None = None) -> dict[str, np.ndarray]:
    """generate_outputs along a latent walk through the seeds' latents, `frames` per leg and
    the last seed's at the end ((len(seeds) - 1) * frames + 1 rows); JaxganError for trainers
    whose generators read no latents of their own."""

  def sample_grid(self, state) -> np.ndarray:
    """The fixed-noise picture written during training, uint8 (H, W, C)."""

  def sample_outputs(self, state, num: int, seed: int,
                     truncation: float | None = None) -> dict[str, np.ndarray]:
    """What `jaxgan sample` writes: generate_outputs with images as uint8."""

  def step_variant(self, phases: Sequence[Phase], iteration: int) -> Variant:
    """What the step after `iteration` G updates runs (the loop compiles one per variant)."""

  def complete_init(self, state, workdir: str | None):
    """A fresh run's initial state completed from outside the config (StackGAN-II: the trained
    Stage-I generator); called once, on the host, when training starts from scratch."""

  def sample_captions(self, state, captions: list[str], seed: int) -> dict[str, np.ndarray]:
    """What `jaxgan sample --captions` writes (text-to-image trainers; others refuse)."""

  def check_truncation(self, truncation: float | None) -> None:
    """Raises JaxganError (one line) for a truncation value its generators cannot take."""

  def style_mixing_grid(self, state, rows: int, columns: int, seed: int,
                        truncation: float | None = None) -> tuple[np.ndarray, list[str]]:
    """The style-mixing figure (uint8 (H, W, C)) and the bands it shows; JaxganError for
    generators without styles."""

  @property
  def has_styles(self) -> bool:
    """Whether its G has a mapping network and a synthesis (style_mixing_grid, path_pairs)."""

  def path_pairs(self, state, num: int, seed: int, space: str, sampling: str,
                 epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """Images at t and t + epsilon on `num` latent paths (PPL); JaxganError without styles."""


class TrainerBase:
  """What every trainer shares: its step variants and the files `sample` writes."""

  supports_truncation: ClassVar[bool] = False
  pairing: ClassVar[str] = ""

  def step_variant(self, phases: Sequence[Phase], iteration: int) -> Variant:
    return variant_at(phases, iteration, self.real_batches(iteration))

  def real_batches(self, iteration: int) -> int:
    del iteration
    return 1

  def check_truncation(self, truncation: float | None) -> None:
    if truncation is not None and not self.supports_truncation:
      from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
      raise JaxganError(f"--truncation is not supported by the {self.config.trainer!r} "
                        "trainer's models")

  @property
  def has_styles(self) -> bool:
    return False

  def path_pairs(self, state, num: int, seed: int, space: str, sampling: str, epsilon: float):
    del state, num, seed, space, sampling, epsilon
    return self.style_mixing_grid(None, 1, 1, 0)  # the same error

  def style_mixing_grid(self, state, rows: int, columns: int, seed: int,
                        truncation: float | None = None):
    del state, rows, columns, seed, truncation
    from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
    raise JaxganError(f"style mixing and path pairs need a style generator (StyleGAN, StyleGAN2); "
                      f"the {self.config.trainer!r} trainer's {self.config.architecture!r} "
                      "has none")

  def sample_outputs(self, state, num: int, seed: int, truncation: float | None = None):
    """What `jaxgan sample` writes: generate_outputs with images as uint8."""
    return as_file_arrays(self.generate_outputs(state, num, seed, truncation))

  def complete_init(self, state, workdir: str | None):
    del workdir
    return state

  def generate_seeds(self, state, seeds: Sequence[int], label: int | None = None,
                     truncation: float | None = None) -> dict[str, np.ndarray]:
    """Seed by seed, generate_outputs(state, 1, seed): for translation and text-to-image
    trainers a seeded test input (pix2pix, CycleGAN) or caption (StackGAN) and its outputs."""
    if label is not None:
      raise JaxganError(f"--class is for class-conditional models; the {self.config.trainer!r} "
                        "trainer's models take no class")
    per_seed = [self.generate_outputs(state, 1, int(seed), truncation) for seed in seeds]
    return {name: np.concatenate([np.asarray(out[name]) for out in per_seed])
            for name in per_seed[0]}

  def interpolate(self, state, seeds: Sequence[int], frames: int, label: int | None = None,
                  truncation: float | None = None) -> dict[str, np.ndarray]:
    del state, seeds, frames, label, truncation
    raise JaxganError(f"latent interpolation is for generators of latents alone; the "
                      f"{self.config.trainer!r} trainer's generators read an input (an image "
                      "or a caption): `jaxgan generate` shows them on seeded test inputs")

  def sample_captions(self, state, captions: list[str], seed: int):
    del state, captions, seed
    raise JaxganError(f"--captions is for text-to-image trainers, not the "
                      f"{self.config.trainer!r} trainer")


def as_file_arrays(outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
  """Float image batches (N, H, W, C) -> uint8; points stay float32, labels int32."""
  out = {}
  for name, value in outputs.items():
    value = np.asarray(value)
    if value.ndim == 4 and np.issubdtype(value.dtype, np.floating):
      out[name] = visualize.to_uint8(value)
    elif np.issubdtype(value.dtype, np.floating):
      out[name] = value.astype(np.float32)
    else:
      out[name] = value.astype(np.int32)
  return out
