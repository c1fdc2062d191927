"""The train state: one pytree holding everything that changes over training.

A checkpoint of this pytree (plus the data iterator's position) resumes a run exactly.
"""

from __future__ import annotations

import math
from typing import Any

import flax.struct
import jax
import optax


@flax.struct.dataclass
class TrainState:
  step: jax.Array  # G updates done so far (int32)
  g_params: Any
  d_params: Any
  g_state: Any  # G's non-trainable collections (batch_stats), {} when it has none
  d_state: Any
  g_opt_state: Any
  d_opt_state: Any
  ema_params: Any  # exponential moving average of g_params, or None when the config keeps none
  rng: jax.Array  # raw uint32[2] key: split at every step, so a resumed run draws the same noise
  # What a paper adds to the state (CycleGAN's history pools, ProGAN's fade-in, StyleGAN2's
  # path-length mean): a dict of pytrees, checkpointed, sharded and restored with the rest.
  extra: Any = flax.struct.field(default_factory=dict)


def learning_rate(opt_config, total_steps: int):
  """The learning rate of an optimizer config section: a float, or an optax schedule.

  lr_decay='linear' holds lr for the first decay_start * total_steps updates (decay_start 0 by
  default; CycleGAN's 0.5), then decays it linearly to 0 at update total_steps.
  lr_decay='step' multiplies lr by decay_factor after every decay_every updates (StackGAN: 0.5
  every 100 epochs).
  """
  if opt_config.lr_decay == "constant":
    return opt_config.lr
  if opt_config.lr_decay == "step":
    return optax.exponential_decay(opt_config.lr, transition_steps=int(opt_config.decay_every),
                                   decay_rate=float(opt_config.decay_factor), staircase=True)
  if opt_config.lr_decay != "linear":
    raise ValueError(f"unknown lr_decay {opt_config.lr_decay!r}")
  hold = int(round(opt_config.get("decay_start", 0.0) * total_steps))
  decay = optax.linear_schedule(opt_config.lr, 0.0, max(total_steps - hold, 1))
  if hold == 0:
    return decay
  return optax.join_schedules([optax.constant_schedule(opt_config.lr), decay], [hold])


def make_optimizer(opt_config, total_steps: int) -> optax.GradientTransformation:
  """Adam, RMSProp or SGD from an optimizer config section, at `learning_rate(...)`, after the
  section's weight decay (L2 on the weights, added to the gradient)."""
  optimizer = _optimizer(opt_config, learning_rate(opt_config, total_steps))
  weight_decay = opt_config.get("weight_decay", 0.0)
  if not weight_decay:
    return optimizer
  return optax.chain(optax.add_decayed_weights(weight_decay, mask=_weights_only), optimizer)


def _weights_only(params):
  """True for the weights (dense and convolution kernels), False for biases, norm parameters
  and slopes: what Caffe's decay_mult 1 covers in the CoGAN model."""
  return jax.tree_util.tree_map_with_path(
      lambda path, _: getattr(path[-1], "key", None) == "kernel", params)


def _optimizer(opt_config, lr) -> optax.GradientTransformation:
  if opt_config.name == "adam":
    return optax.adam(lr, b1=opt_config.b1, b2=opt_config.b2, eps=opt_config.eps)
  if opt_config.name == "rmsprop":
    # WGAN's RMSProp as its reference code ran it (PyTorch's RMSprop): no momentum, no
    # centring, eps added outside the square root, g / (sqrt(nu) + eps).
    return optax.rmsprop(lr, decay=opt_config.decay, eps=opt_config.eps, eps_in_sqrt=False)
  if opt_config.name == "sgd":
    return optax.sgd(lr, momentum=opt_config.momentum or None)
  raise ValueError(f"unknown optimizer {opt_config.name!r}")


def count_params(tree) -> int:
  return int(sum(math.prod(x.shape) for x in jax.tree_util.tree_leaves(tree)))
