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

Departures from the official code (tkarras/progressive_growing_of_gans): one batch size for
every resolution (its minibatch_dict shrinks the batch at high resolutions to fit GPU memory;
`batch_size` here is the one the config sets); no learning-rate ramp per resolution (its
default has none either); the schedule counts G updates x batch, the official one real images
shown to D (the same with n_critic 1). As the official code (reset_opt_for_new_lod=True), both
Adam states are reset where a fade-in starts and where it ends.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.errors import JaxganError
from jaxgan.nn.fir import downscale_avg, upscale_nearest
from jaxgan.train import phases as phases_lib
from jaxgan.train.adversarial import AdversarialTrainer
from jaxgan.train.phases import Phase, Variant, variant_at


@dataclasses.dataclass(frozen=True)
class Growth:
  """The resolution schedule: stage s trains at 4 * 2^s; images counted per G update."""

  num_stages: int
  fade_images: int
  stable_images: int

  def at(self, images: int) -> tuple[int, float]:
    """(stage, alpha) after `images` images (Python: what the step variant is chosen by)."""
    if images < self.stable_images or self.num_stages == 1:
      return 0, 1.0
    period = self.fade_images + self.stable_images
    x = images - self.stable_images
    stage = 1 + x // period
    if stage >= self.num_stages:
      last = self.stable_images + (self.num_stages - 2) * period
      return self.num_stages - 1, self._alpha(images - last)
    return stage, self._alpha(x - (stage - 1) * period)

  def _alpha(self, into_stage: int) -> float:
    if self.fade_images == 0:
      return 1.0
    return float(np.float32(min(into_stage, self.fade_images)) / np.float32(self.fade_images))

  def at_traced(self, images):
    """(stage, alpha) as at(), for an int32 traced image count (inside the step)."""
    period = self.fade_images + self.stable_images
    x = images - self.stable_images
    stage = jnp.where(images < self.stable_images, 0,
                      jnp.minimum(1 + x // period, self.num_stages - 1)).astype(jnp.int32)
    start = self.stable_images + (stage - 1) * period  # where the stage's fade began
    into = jnp.minimum(images - start, self.fade_images).astype(jnp.float32)
    alpha = jnp.float32(1.0) if self.fade_images == 0 else into / jnp.float32(self.fade_images)
    return stage, jnp.where(stage == 0, jnp.float32(1.0), alpha).astype(jnp.float32)


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
  return Growth(top - 1, int(round(growth.fade_kimg * 1000)),
                int(round(growth.stable_kimg * 1000)))


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
    super().__init__(config, info)
    self.growth = growth_of(config, info.shape[0])
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

  def prepare_reals(self, real, state, stage):
    r = resolution_of(stage)
    x = _box_downscale(real, real.shape[1] // r)
    if r > 4:  # the official process_reals: the reals fade in with the new block
      x = x + (upscale_nearest(downscale_avg(x)) - x) * (1.0 - state.extra["alpha"])
    return x

  # ---------------------------------------------------------------- step

  def phases(self, constrain):
    out = []
    for stage in range(self.growth.num_stages):
      out += self.update_phases(constrain, f"@r{resolution_of(stage)}", stage)
    if self.config.ema.decay > 0:
      out.append(phases_lib.ema_phase(self.config.ema.decay, self.config.ema.start))
    out.append(Phase("growth", self._growth_run))
    return out

  def _growth_run(self, state, inputs, key):
    """The stage and alpha of the next step (images after this one); Adam's state reset where
    a fade-in starts or ends (the official reset_opt_for_new_lod: whenever floor or ceil of
    its lod changes)."""
    del inputs, key
    images = (state.step + 1) * self.config.batch_size
    stage, alpha = self.growth.at_traced(images)
    old_stage, old_alpha = state.extra["stage"], state.extra["alpha"]
    metrics = {"alpha": old_alpha, "resolution": (4 * 2**old_stage).astype(jnp.float32)}
    reset = (stage != old_stage) | ((old_alpha < 1.0) & (alpha >= 1.0))

    def maybe_reset(tx, opt_state, params):
      fresh = tx.init(params)
      return jax.tree_util.tree_map(lambda f, o: jnp.where(reset, f, o), fresh, opt_state)

    return state.replace(
        extra={**state.extra, "stage": stage, "alpha": alpha},
        g_opt_state=maybe_reset(self.g_tx, state.g_opt_state, state.g_params),
        d_opt_state=maybe_reset(self.d_tx, state.d_opt_state, state.d_params)), metrics, {}

  def stage_at(self, iteration: int) -> int:
    return self.growth.at(iteration * self.config.batch_size)[0]

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
