"""ProGAN's trainer (Karras et al. 2017): progressive growing on the adversarial trainer.

Training starts at 4x4 and doubles the resolution up to the data's size. Each stage but the
first fades its new blocks in over `growth.fade_kimg` thousand images (alpha from 0 to 1,
linear in images shown), then trains `growth.stable_kimg` thousand images at alpha 1; the first
stage (4x4) is stable only; the last stays until the end. Images shown = G updates x batch size
(n_critic 1, as the paper). The stage and alpha of the next step are in the state's `extra`
('stage' int32, 'alpha' float32; written by the 'growth' phase at the end of each step), so a
run resumed anywhere, inside a fade-in too, continues with the same resolution and alpha.

One step is compiled per (stage, variant): the phases of every stage are built up front with
the stage's resolution static (names 'critic@r8', 'generator@r8', ...) and the step of
iteration i runs those of its stage plus the EMA and the growth phase. The real batch (at the
data's size) is box-downscaled to the stage's resolution inside the step and, during a
fade-in, blended as the official code's process_reals: lerp(upscale(downscale(x)), x, alpha).
G and D run at the stage's resolution; D's penalties (WGAN-GP) see D as the official code runs
it, on images at the data's size (nearest-upscaled, box-downscaled back inside D), so the
gradient norm they hold to 1 is the same quantity at every stage (`d_term_inputs`).

The batch size can shrink at high resolutions as the official minibatch_dict does
(`growth.batch_sizes`, one per stage from 4x4 up; the pipeline reads `batch_size` images and a
stage takes the first ones); a stage lasts ceil(images / its batch) steps.

Departures from the official code (tkarras/progressive_growing_of_gans): no learning-rate ramp
per resolution (its default has none either); the schedule counts G updates x batch, the
official one real images shown to D (the same with n_critic 1). As the official code (reset_opt_for_new_lod=True), both
Adam states are reset where a fade-in starts and where it ends; a learning-rate schedule
(`optimizer.*.lr_decay`) runs on over the resets, counted in steps of the whole run.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgan.errors import JaxganError
from jaxgan.nn.fir import downscale_avg, upscale_nearest
from jaxgan.train.adversarial import AdversarialTrainer
from jaxgan.train.phases import Phase, Variant, variant_at


@dataclasses.dataclass(frozen=True)
class Growth:
  """The resolution schedule: stage s trains at 4 * 2^s with batch `batches[s]`; images are
  counted per G update (n_critic 1), so a stage of I images lasts ceil(I / batch) steps."""

  num_stages: int
  fade_images: int
  stable_images: int
  batches: tuple[int, ...]

  def __post_init__(self):
    if len(self.batches) != self.num_stages:
      raise ValueError(f"{self.num_stages} stages need as many batch sizes, got {self.batches}")

  @property
  def starts(self) -> tuple[int, ...]:
    """The first step of each stage (a fade-in from stage 1 on)."""
    out, step = [0], _ceil_div(self.stable_images, self.batches[0])
    for s in range(1, self.num_stages):
      out.append(step)
      step += _ceil_div(self.fade_images + self.stable_images, self.batches[s])
    return tuple(out)

  def at(self, step: int) -> tuple[int, float]:
    """(stage, alpha) of step `step` (Python: what the step variant is chosen by)."""
    stage = sum(step >= start for start in self.starts[1:])
    if stage == 0 or self.fade_images == 0:
      return stage, 1.0
    into = min((step - self.starts[stage]) * self.batches[stage], self.fade_images)
    return stage, float(np.float32(into) / np.float32(self.fade_images))

  def at_traced(self, step):
    """(stage, alpha) as at(), for an int32 traced step (inside the step)."""
    starts = jnp.asarray(self.starts, jnp.int32)
    stage = jnp.sum(step >= starts[1:]).astype(jnp.int32)
    into = jnp.minimum((step - starts[stage]) * jnp.asarray(self.batches, jnp.int32)[stage],
                       self.fade_images).astype(jnp.float32)
    alpha = jnp.float32(1.0) if self.fade_images == 0 else into / jnp.float32(self.fade_images)
    return stage, jnp.where(stage == 0, jnp.float32(1.0), alpha).astype(jnp.float32)


def _ceil_div(a: int, b: int) -> int:
  return -(-a // b)


def growth_of(config, image_size: int) -> Growth:
  growth = config.get("growth")
  if growth is None:
    raise JaxganError("the progan trainer needs config.growth (fade_kimg, stable_kimg)")
  if growth.fade_kimg < 0 or growth.stable_kimg <= 0:
    raise JaxganError(f"growth.fade_kimg must be >= 0 and growth.stable_kimg > 0, got "
                      f"{growth.fade_kimg} and {growth.stable_kimg}")
  top = int(math.log2(image_size))
  if 2**top != image_size or image_size < 4:
    raise JaxganError(f"progressive growing needs a power-of-2 image size >= 4, got {image_size}")
  num_stages = top - 1
  batches = tuple(growth.get("batch_sizes", ()) or ()) or (config.batch_size,) * num_stages
  if len(batches) != num_stages:
    raise JaxganError(f"growth.batch_sizes needs one batch size per stage from 4x4 to "
                      f"{image_size}x{image_size} ({num_stages}), got {len(batches)}")
  if max(batches) > config.batch_size:
    raise JaxganError(f"growth.batch_sizes {tuple(batches)} exceed batch_size "
                      f"{config.batch_size}, the batch the data pipeline reads")
  if config.get("ema", {}).get("rampup", 0.0) and len(set(batches)) > 1:
    # The ramp counts the images seen as steps x batch_size.
    raise JaxganError(f"ema.rampup counts steps x batch_size images; it cannot be combined with "
                      f"per-stage growth.batch_sizes {tuple(batches)}")
  return Growth(num_stages, int(round(growth.fade_kimg * 1000)),
                int(round(growth.stable_kimg * 1000)), tuple(int(b) for b in batches))


def resolution_of(stage: int) -> int:
  return 4 * 2**int(stage)


def _box_downscale(x, factor: int):
  if factor == 1:
    return x
  n, h, w, c = x.shape
  return x.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


class ProGANTrainer(AdversarialTrainer):
  """AdversarialTrainer with a resolution stage and fade-in alpha in the state."""

  def __init__(self, config, info):
    if config.architecture != "progan":
      # StyleGAN's networks take resolution/alpha too, but growing them (optional in the
      # paper) is not offered: its configs train at the final resolution.
      raise JaxganError(f"the progan trainer grows ProGAN networks, not {config.architecture!r}")
    if config.n_critic != 1 or config.grad_accum_steps != 1:
      raise JaxganError("the progan trainer counts images per G update: set n_critic=1 and "
                        "grad_accum_steps=1")
    self.growth = growth_of(config, info.shape[0])
    group = config.discriminator.get("mbstd_group_size", 4) or 0
    for b in self.growth.batches:
      if b % jax.device_count() or (group and b % min(group, b)):
        raise JaxganError(f"growth.batch_sizes {self.growth.batches}: batch {b} must divide "
                          f"over the {jax.device_count()} devices and into minibatch-stddev "
                          f"groups of {group}")
    super().__init__(config, info)
    self._sample_at = jax.jit(self._sample_at_fn, static_argnums=4)

  def init_state(self, key):
    state = super().init_state(key)
    stage, alpha = self.growth.at(0)
    return state.replace(extra={**state.extra, "stage": jnp.asarray(stage, jnp.int32),
                                "alpha": jnp.asarray(alpha, jnp.float32)})

  # ---------------------------------------------------------------- what G and D see

  def g_kwargs(self, state, stage) -> dict:
    return {"resolution": resolution_of(stage), "alpha": state.extra["alpha"]}

  def d_kwargs(self, state, stage) -> dict:
    del stage
    return {"alpha": state.extra["alpha"]}

  def stage_batch_size(self, stage) -> int:
    return self.growth.batches[stage]

  def prepare_reals(self, real, state, stage):
    # The pipeline reads batch_size images; a stage with a smaller batch takes the first ones.
    real = real[:self.growth.batches[stage]]
    r = resolution_of(stage)
    x = _box_downscale(real, real.shape[1] // r)
    if r > 4:  # the official process_reals: the reals fade in with the new block
      x = x + (upscale_nearest(downscale_avg(x)) - x) * (1.0 - state.extra["alpha"])
    return x

  def d_term_inputs(self, inputs, stage):
    # The official code runs D on images at the data's size at every stage (lower stages
    # upscaled, nearest; D's first op box-downscales them back), so WGAN-GP's |grad| is taken
    # there: at a stage of resolution r and data size N it is |grad wrt the r x r image| * r / N.
    # Taking it at r x r instead would hold D to a Lipschitz constant N / r times too small,
    # which every fade-in would then have to double.
    factor = self.info.shape[0] // resolution_of(stage)
    if factor == 1:
      return inputs
    d_fn = inputs.d_fn
    return inputs._replace(
        d_fn=lambda x, labels: d_fn(downscale_avg(x, factor), labels),
        real=upscale_nearest(inputs.real, factor),
        fake=None if inputs.fake is None else upscale_nearest(inputs.fake, factor))

  # ---------------------------------------------------------------- step

  def phases(self, constrain):
    out = []
    for stage in range(self.growth.num_stages):
      out += self.update_phases(constrain, f"@r{resolution_of(stage)}", stage)
    out += self.ema_phases()
    out.append(Phase("growth", self._growth_run))
    return out

  def _growth_run(self, state, inputs, key):
    """The stage and alpha of the next step (images after this one); Adam's state reset where
    a fade-in starts or ends (the official reset_opt_for_new_lod: whenever floor or ceil of
    its lod changes)."""
    del inputs, key
    stage, alpha = self.growth.at_traced(state.step + 1)
    old_stage, old_alpha = state.extra["stage"], state.extra["alpha"]
    metrics = {"alpha": old_alpha, "resolution": (4 * 2**old_stage).astype(jnp.float32)}
    reset = (stage != old_stage) | ((old_alpha < 1.0) & (alpha >= 1.0))

    def maybe_reset(tx, opt_state, params):
      # Adam's moments and bias-correction count start afresh; a learning-rate schedule's
      # count does not (the official code feeds the rate in from outside its optimizer).
      def pick(fresh, old):
        if isinstance(old, optax.ScaleByScheduleState):
          return old
        return jax.tree_util.tree_map(lambda f, o: jnp.where(reset, f, o), fresh, old)

      return jax.tree_util.tree_map(
          pick, tx.init(params), opt_state,
          is_leaf=lambda x: isinstance(x, optax.ScaleByScheduleState))

    return state.replace(
        extra={**state.extra, "stage": stage, "alpha": alpha},
        g_opt_state=maybe_reset(self.g_tx, state.g_opt_state, state.g_params),
        d_opt_state=maybe_reset(self.d_tx, state.d_opt_state, state.d_params)), metrics, {}

  def stage_at(self, iteration: int) -> int:
    return self.growth.at(iteration)[0]

  def step_variant(self, phases, iteration: int) -> Variant:
    suffix = f"@r{resolution_of(self.stage_at(iteration))}"
    own = [p for p in phases if "@" not in p.name or p.name.endswith(suffix)]
    return variant_at(own, iteration, self.real_batches(iteration))

  # ---------------------------------------------------------------- sampling

  def resolution(self, state) -> int:
    """The resolution the state trains (and samples) at."""
    return resolution_of(int(state.extra["stage"]))

  def _sample_at_fn(self, params, g_state, z, alpha, resolution):
    return self.nets.generate(params, g_state, z, None, train=False, resolution=resolution,
                              alpha=alpha)[0]

  def generate(self, state, z, labels=None, batch_size=None, g_state=None,
               truncation_psi: float = 1.0):
    """G (EMA weights if kept) at the state's resolution and alpha, in batches."""
    del labels, truncation_psi
    batch_size = batch_size or self.config.eval.batch_size
    params = state.ema_params if state.ema_params is not None else state.g_params
    g_state = state.g_state if g_state is None else g_state
    resolution, alpha = self.resolution(state), state.extra["alpha"]
    return np.concatenate([
        np.asarray(self._sample_at(params, g_state, z[s:s + batch_size], alpha, resolution))
        for s in range(0, len(z), batch_size)])
