"""A train step built from phases.

A paper's step is a list of `Phase`s run in order: discriminator updates, the generator update,
regularisation phases on their own interval (lazy R1, path length), the EMA of G. Each phase is
a pure function

    run(state, inputs, key) -> (state, metrics, outputs)

of the train state, this step's inputs (the real batch slice, merged with the `outputs` of the
phases before it: pix2pix's D reads the fakes its G phase made) and a key. `compose_step` turns
the list into one `step(state, batch) -> (state, metrics)` for a given *variant*: how many real
batches the repeated (critic) phases get, and which interval phases are due. The loop asks the
trainer for the variant of each step, and one step is compiled per distinct variant (WGAN's
critic schedule: two; StyleGAN2's lazy regularisation: three), never per step.

Gradient accumulation lives inside a phase (`accumulate_grads`: micro-batches, mean gradient,
one update), so G always updates against the freshly updated D (optax.MultiSteps would not).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import optax

from jaxgan.train.networks import keep_spectral

# Up to this many repeats a repeated phase is unrolled in the step. Beyond it (WGAN's 100 critic
# updates) unrolling would compile 100 copies, and a lax.scan is no answer on the CPU: XLA's CPU
# backend runs convolutions inside a loop ~11x slower (WGAN's digits critic: 1.55 against 0.14
# CPU s per update). The engine runs such a step as a `ChunkedStep` instead.
MAX_UNROLLED_REPEATS = 8


@dataclasses.dataclass(frozen=True)
class Phase:
  """One piece of a train step.

  name: for metrics and logs. every: runs at iterations i (G updates done before this step)
  with i % every == 0. repeated: runs once per real batch of the step (the critic phase, whose
  count is the variant's), each on its own batch slice and key; other phases see the step's last
  real batch. key_slot: which of the step's keys it gets (the trainer's `num_keys` many), or
  None for a phase that draws no randomness (the EMA).
  """

  name: str
  run: Callable
  every: int = 1
  repeated: bool = False
  key_slot: int | None = None

  def due(self, iteration: int) -> bool:
    return iteration % self.every == 0


class Variant(NamedTuple):
  """What one compiled step does: real batches for the repeated phase, the phases due."""
  real_batches: int
  phases: tuple[str, ...]


def variant_at(phases: Sequence[Phase], iteration: int, real_batches: int) -> Variant:
  return Variant(real_batches, tuple(p.name for p in phases if p.due(iteration)))


def compose_step(phases: Sequence[Phase], variant: Variant, num_keys: int):
  """step(state, batch) -> (state, metrics) running the variant's phases in order.

  batch leaves are [variant.real_batches, B, ...]. The state's key is split into num_keys + 1
  at every step (the first carries over), whatever phases are due, so a phase's noise does not
  depend on which others ran.
  """
  active = [p for p in phases if p.name in variant.phases]

  def step(state, batch):
    keys = jax.random.split(state.rng, num_keys + 1)
    state, metrics, _ = run_phases(active, state.replace(rng=keys[0]), batch, keys,
                                   variant.real_batches)
    return state.replace(step=state.step + 1), metrics

  return step


def run_phases(active: Sequence[Phase], state, batch, keys, real_batches: int,
               outputs: dict | None = None):
  """The phases in order within one step (`keys`: the step's, split as compose_step splits
  them; `outputs`: what earlier phases of the step passed on). -> (state, metrics, outputs)."""
  last = jax.tree_util.tree_map(lambda x: x[-1], batch)
  outputs, metrics = dict(outputs or {}), {}
  for phase in active:
    key = None if phase.key_slot is None else keys[1 + phase.key_slot]
    if phase.repeated:
      state, phase_metrics = _repeat(phase, state, batch, key, real_batches, outputs)
    else:
      state, phase_metrics, out = phase.run(state, {**last, **outputs}, key)
      outputs.update(out)
    metrics.update(phase_metrics)
  return state, metrics, outputs


def _repeat(phase: Phase, state, batch, key, count: int, outputs: dict):
  """The phase once per real batch, each with its own key; metrics averaged."""
  keys = jax.random.split(key, count) if key is not None else [None] * count
  if count <= MAX_UNROLLED_REPEATS:
    all_metrics = []
    for i in range(count):
      inputs = {**jax.tree_util.tree_map(lambda x, i=i: x[i], batch), **outputs}
      state, metrics, _ = phase.run(state, inputs, keys[i])
      all_metrics.append(metrics)
    return state, mean_metrics(all_metrics)

  def body(state, slice_and_key):
    inputs, k = slice_and_key
    state, metrics, _ = phase.run(state, {**inputs, **outputs}, k)
    return state, metrics

  state, stacked = jax.lax.scan(body, state, (batch, keys))
  return state, jax.tree_util.tree_map(jnp.mean, stacked)


def chunk_size(count: int) -> int:
  """The largest divisor of `count` that can be unrolled: 100 critic updates run as 20 chunks of
  5, the same compiled size as WGAN's usual n_critic."""
  return max(d for d in range(1, MAX_UNROLLED_REPEATS + 1) if count % d == 0)


class ChunkedStep:
  """compose_step's step for a variant whose first phase repeats more than MAX_UNROLLED_REPEATS
  times, run from Python as three jitted pieces: `begin` (the step's keys, as compose_step
  splits them), `chunk` (chunk_size(count) updates unrolled, called count/chunk times on slices of
  the same batch) and `finish` (the phases after the repeated one, on the last real batch). Same
  keys, batches, order and state as compose_step; metrics are the mean over all updates.
  `lower` lowers the chunk, the piece that holds the step's largest temporaries (the memory check).
  """

  def __init__(self, phases: Sequence[Phase], variant: Variant, num_keys: int, state_sharding,
               batch_sharding, replicated):
    active = [p for p in phases if p.name in variant.phases]
    if not active or not active[0].repeated or any(p.repeated for p in active[1:]):
      raise ValueError("a chunked step needs exactly one repeated phase, and it first; got "
                       f"{[(p.name, p.repeated) for p in active]}")
    repeated, rest = active[0], active[1:]
    count = variant.real_batches
    self.count, self.chunk = count, chunk_size(count)
    chunk = self.chunk

    def begin(state):
      keys = jax.random.split(state.rng, num_keys + 1)
      if repeated.key_slot is None:
        repeat_keys = jnp.zeros((count, 2), jnp.uint32)  # unused: the phase draws no noise
      else:
        repeat_keys = jax.random.split(keys[1 + repeated.key_slot], count)
      return state.replace(rng=keys[0]), keys, repeat_keys

    def run_chunk(state, batch, repeat_keys, start):
      sums = None
      for i in range(chunk):
        inputs = jax.tree_util.tree_map(
            lambda x, i=i: jax.lax.dynamic_index_in_dim(x, start + i, keepdims=False), batch)
        key = None if repeated.key_slot is None else repeat_keys[start + i]
        state, metrics, _ = repeated.run(state, inputs, key)
        sums = metrics if sums is None else jax.tree_util.tree_map(jnp.add, sums, metrics)
      return state, sums

    def finish(state, batch, keys, sums):
      state, rest_metrics, _ = run_phases(rest, state, batch, keys, count)
      metrics = {**jax.tree_util.tree_map(lambda s: s / count, sums), **rest_metrics}
      return state.replace(step=state.step + 1), metrics

    self._begin = jax.jit(begin, in_shardings=(state_sharding,),
                          out_shardings=(state_sharding, replicated, replicated), donate_argnums=0)
    self._chunk = jax.jit(run_chunk,
                          in_shardings=(state_sharding, batch_sharding, replicated, replicated),
                          out_shardings=(state_sharding, replicated), donate_argnums=0)
    self.compiled_chunk = None  # set by the engine's memory check, which compiles the chunk
    self._finish = jax.jit(finish,
                           in_shardings=(state_sharding, batch_sharding, replicated, replicated),
                           out_shardings=(state_sharding, replicated), donate_argnums=0)

  def __call__(self, state, batch):
    state, keys, repeat_keys = self._begin(state)
    total = None
    for start in range(0, self.count, self.chunk):
      run = self.compiled_chunk or self._chunk
      state, sums = run(state, batch, repeat_keys, jnp.asarray(start, jnp.int32))
      total = sums if total is None else jax.tree_util.tree_map(jnp.add, total, sums)
    return self._finish(state, batch, keys, total)

  def lower(self, state, batch):
    return self._chunk.lower(state, batch,
                             jax.ShapeDtypeStruct((self.count, 2), jnp.uint32),
                             jax.ShapeDtypeStruct((), jnp.int32))


def segments_of(phases: Sequence[Phase]) -> list[tuple[str, ...]]:
  """The phases split where the lazy ones are: each run of phases due at every step is one
  segment, each phase with an interval (every > 1) a segment of its own, in order."""
  out, run = [], []
  for p in phases:
    if p.every > 1:
      if run:
        out.append(tuple(run))
      out.append((p.name,))
      run = []
    else:
      run.append(p.name)
  if run:
    out.append(tuple(run))
  return out


class SegmentedStep:
  """compose_step's step for a trainer with lazy phases, run from Python as jitted segments
  (`segments_of`): `begin` (the step's keys, as compose_step splits them), the due segments in
  order, `finish` (the step counter). Every variant shares the segments: StyleGAN2's three
  variants (plain; + path length; + lazy R1 and path length) compile the always-due phases
  once instead of three times. Same keys, batches, order and state as compose_step.

  `segment_fn(names, real_batches)` returns the jitted segment, called as
  seg(state, batch, keys, outputs) -> (state, metrics, outputs); the engine caches them.
  """

  def __init__(self, phases: Sequence[Phase], variant: Variant, num_keys: int,
               segment_fn: Callable, state_sharding, replicated):
    due = set(variant.phases)
    self.segments = [names for names in segments_of(phases) if names[0] in due]
    self.real_batches, self.num_keys = variant.real_batches, num_keys
    self._segment_fn = segment_fn

    def begin(state):
      keys = jax.random.split(state.rng, num_keys + 1)
      return state.replace(rng=keys[0]), keys

    self._begin = jax.jit(begin, in_shardings=(state_sharding,),
                          out_shardings=(state_sharding, replicated), donate_argnums=0)
    self._finish = jax.jit(lambda state: state.replace(step=state.step + 1),
                           in_shardings=(state_sharding,), out_shardings=state_sharding,
                           donate_argnums=0)

  def __call__(self, state, batch):
    state, keys = self._begin(state)
    metrics, outputs = {}, {}
    for names in self.segments:
      state, seg_metrics, outputs = self._segment_fn(names, self.real_batches)(
          state, batch, keys, outputs)
      metrics.update(seg_metrics)
    return self._finish(state), metrics

  def lower(self, state, batch):
    """What jit(step).lower gives for the tools that compile a step ahead of time
    (benchmarks): .compile() compiles every due segment -> CompiledSegments."""
    return LoweredSegments([lowered for _, lowered in self.lowered_segments(state, batch)])

  def lowered_segments(self, state, batch):
    """(names, lowered) of each due segment, from abstract (or concrete) state and batch."""
    keys = jax.ShapeDtypeStruct((self.num_keys + 1,) + tuple(state.rng.shape), state.rng.dtype)
    outputs, out = {}, []
    for names in self.segments:
      seg = self._segment_fn(names, self.real_batches)
      out.append((names, seg.lower(state, batch, keys, outputs)))
      outputs = jax.eval_shape(seg, state, batch, keys, outputs)[2]
    return out


class LoweredSegments(NamedTuple):
  lowered: list

  def compile(self):
    return CompiledSegments([lowered.compile() for lowered in self.lowered])


class CompiledSegments(NamedTuple):
  compiled: list

  def cost_analysis(self) -> dict:
    """The segments' XLA cost analyses, summed key by key."""
    total = {}
    for c in self.compiled:
      cost = c.cost_analysis()
      cost = (cost[0] if cost else {}) if isinstance(cost, (list, tuple)) else (cost or {})
      for k, v in cost.items():
        total[k] = total.get(k, 0.0) + float(v)
    return total


def segment_step(phases: Sequence[Phase], names: tuple[str, ...], real_batches: int):
  """seg(state, batch, keys, outputs) -> (state, metrics, outputs): the named phases in order,
  as compose_step runs them (`keys`: the step's, split by SegmentedStep's begin)."""
  active = [p for p in phases if p.name in names]

  def seg(state, batch, keys, outputs):
    return run_phases(active, state, batch, keys, real_batches, outputs)

  return seg


def mean_metrics(metrics_list):
  return jax.tree_util.tree_map(lambda *xs: jnp.mean(jnp.stack(xs)), *metrics_list)


# ------------------------------------------------------------------ gradient accumulation


def split_micro(tree, num_micro: int):
  """[B, ...] leaves -> [k, B/k, ...], taking every k-th example so each device keeps its share."""
  if num_micro == 1:
    return tree
  def split(x):
    x = x.reshape((x.shape[0] // num_micro, num_micro) + x.shape[1:])
    return jnp.swapaxes(x, 0, 1)
  return jax.tree_util.tree_map(split, tree)


def merge_micro(tree, num_micro: int):
  """Inverse of split_micro: [k, B/k, ...] -> [B, ...] in the original order."""
  if num_micro == 1:
    return tree
  def merge(x):
    x = jnp.swapaxes(x, 0, 1)
    return x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:])
  return jax.tree_util.tree_map(merge, tree)


def micro_batches(tree, key, num_micro: int):
  """(tree split into micro-batches, one key per micro-batch) as loss-function inputs."""
  keys = jax.random.split(key, num_micro)
  if num_micro == 1:
    return tree, keys[0]
  return split_micro(tree, num_micro), keys


def accumulate_grads(loss_fn: Callable, params, aux_state, micro_inputs, num_micro: int):
  """Mean gradient of `loss_fn` over micro-batches (leaves of micro_inputs are [k, ...]).

  loss_fn(params, aux_state, inputs) -> (loss, (aux_state, metrics[, outputs])); returns
  (grads, (aux_state, mean metrics[, outputs])), outputs (per-example arrays, e.g. the fakes a
  G loss made) merged back to [B, ...]. The non-trainable state (batch-norm running averages)
  is threaded from one micro-batch to the next, so each micro-batch normalises with its own
  batch statistics, as k smaller steps would. With num_micro == 1 this is a plain gradient.

  The micro-batch loop is unrolled in Python rather than a lax.scan: XLA's CPU backend runs
  convolutions inside while loops an order of magnitude slower, and k is small and static.
  """
  grad_fn = jax.grad(loss_fn, has_aux=True)
  if num_micro == 1:
    return grad_fn(params, aux_state, micro_inputs)
  grad_sum, all_metrics, all_outputs = None, [], []
  for i in range(num_micro):
    inputs = jax.tree_util.tree_map(lambda x, i=i: x[i], micro_inputs)
    grads, (aux_state, metrics, *outputs) = grad_fn(params, aux_state, inputs)
    grad_sum = grads if grad_sum is None else jax.tree_util.tree_map(jnp.add, grad_sum, grads)
    all_metrics.append(metrics)
    all_outputs.append(outputs)
  mean_grads = jax.tree_util.tree_map(lambda g: g / num_micro, grad_sum)
  rest = ()
  if all_outputs[0]:
    stacked = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *all_outputs)
    rest = tuple(merge_micro(stacked, num_micro))
  return mean_grads, (aux_state, mean_metrics(all_metrics), *rest)


def apply_update(tx, grads, opt_state, params):
  updates, opt_state = tx.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state


# ------------------------------------------------------------------ shared phases


def ema_update(ema_params, params, decay):
  """In-place-free EMA of parameters (optax.ema averages updates, not parameters)."""
  return jax.tree_util.tree_map(lambda e, p: decay * e + (1.0 - decay) * p, ema_params, params)


def ema_phase(decay: float, start: int, rampup: float = 0.0, batch_size: int = 1) -> Phase:
  """The EMA of G's parameters, after G's update; before `start` it just follows G (BigGAN
  starts its average late).

  rampup > 0: StyleGAN2-ADA's ramp-up (training_loop.py's ema_rampup): the half-life, in
  images, is min(that of `decay`, images seen so far x rampup), so the average forgets the
  first, poor generators quickly; `decay` is the rate once the ramp is over."""
  half_life = batch_size * math.log(0.5) / math.log(decay) if 0 < decay < 1 else 0.0

  def run(state, inputs, key):
    del inputs, key
    rate = jnp.asarray(decay, jnp.float32)
    if rampup > 0:
      seen = state.step.astype(jnp.float32) * batch_size
      ramped = jnp.minimum(half_life, seen * rampup)
      rate = jnp.power(0.5, batch_size / jnp.maximum(ramped, 1e-8))
    rate = jnp.where(state.step >= start, rate, 0.0)
    return state.replace(ema_params=ema_update(state.ema_params, state.g_params, rate)), {}, {}

  return Phase("ema", run)


def update_phase(name: str, side: str, loss_fn: Callable, tx, num_micro: int,
                 micro_inputs: Callable, post_update: Callable | None = None,
                 **phase_kwargs) -> Phase:
  """A phase that takes one optimiser step of G ('g') or D ('d').

  loss_fn(params, net_state, inputs, state) -> (loss, (net_state, metrics[, outputs])), with
  inputs one micro-batch of what micro_inputs(step_inputs, key) returns (see micro_batches).
  net_state's batch-norm averages are threaded from micro-batch to micro-batch, its
  spectral-norm vectors are the update's starting ones in every micro-batch (a loss that calls
  its network twice passes them to the second call with networks.keep_spectral), so the update
  advances them by one power iteration.
  post_update(params) -> params runs after the update (WGAN's weight clipping).
  """
  params_field, state_field, opt_field = f"{side}_params", f"{side}_state", f"{side}_opt_state"

  def run(state, inputs, key):
    start = getattr(state, state_field)

    def loss(params, net_state, micro):
      # Each micro-batch reads the spectral-norm vectors the update started from.
      return loss_fn(params, keep_spectral(net_state, start), micro, state)

    grads, (net_state, metrics, *outputs) = accumulate_grads(
        loss, getattr(state, params_field), getattr(state, state_field),
        micro_inputs(inputs, key), num_micro)
    params, opt_state = apply_update(tx, grads, getattr(state, opt_field),
                                     getattr(state, params_field))
    if post_update is not None:
      params = post_update(params)
    state = state.replace(**{params_field: params, state_field: net_state,
                             opt_field: opt_state})
    return state, metrics, (outputs[0] if outputs else {})

  return Phase(name, run, **phase_kwargs)
