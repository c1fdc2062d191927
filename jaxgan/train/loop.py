"""The one training loop: train_and_evaluate(config, workdir), for every paper."""

from __future__ import annotations

import json
import logging
import os
import signal
import time

import jax
import jax.numpy as jnp
import numpy as np
import tqdm

from jaxgan import visualize
from jaxgan.errors import JaxganError
from jaxgan.train.checkpoints import Checkpointer
from jaxgan.train.experiment import Experiment
from jaxgan.train.writers import MultiWriter, make_writer

log = logging.getLogger("jaxgan")


class Interrupted(Exception):
  """Raised after SIGINT/SIGTERM once the checkpoint is safely written."""

  def __init__(self, signum: int, step: int):
    super().__init__(f"stopped by {signal.Signals(signum).name} at step {step}; "
                     "checkpoint saved, run the same command to resume")
    self.signum = signum


class NonFiniteLoss(JaxganError):
  pass


def _flat(tree, prefix=""):
  out = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      out.update(_flat(value, prefix + key + "."))
    else:
      out[prefix + key] = value
  return out


def record_config(workdir: str, config, step: int):
  """config.json holds the config of the latest run in workdir, so `sample` and `evaluate`
  see the overrides a resumed run was given; config_history.jsonl gets one line per run that
  started or changed it ({'step', 'time', 'changes': {key: [old, new]}}). What would change
  the state's shapes is refused earlier, against the checkpoint itself."""
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, "config.json")
  new = json.loads(config.to_json_best_effort())
  old = None
  if os.path.exists(path):
    try:
      with open(path, encoding="utf-8") as f:
        old = json.load(f)
    except (OSError, json.JSONDecodeError):
      old = None
  if old == new:
    return
  before, after = _flat(old or {}), _flat(new)
  changes = {k: [before.get(k), after.get(k)] for k in sorted(set(before) | set(after))
             if before.get(k) != after.get(k)}
  if old is not None:
    log.info("config changed on resume at step %d: %s", step,
             ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changes.items()))
  entry = {"step": step, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
           "changes": changes if old is not None else "started"}
  with open(os.path.join(workdir, "config_history.jsonl"), "a", encoding="utf-8") as f:
    f.write(json.dumps(entry) + "\n")
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    f.write(config.to_json_best_effort(indent=2))
  os.replace(tmp, path)


def _first_nonfinite(pending: list[tuple[int, dict]]):
  for step, metrics in pending:
    values = jax.device_get(metrics)
    bad = [k for k, v in values.items() if not np.all(np.isfinite(v))]
    if bad:
      return step, bad
  return None


@jax.jit
def _leaf_finite(tree):
  return [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree)
          if jnp.issubdtype(x.dtype, jnp.floating)]


def _first_nonfinite_leaf(state):
  """The path of the first floating leaf of `state` holding inf or NaN, else None."""
  flags = jax.device_get(_leaf_finite(state))
  if all(flags):
    return None
  paths = [jax.tree_util.keystr(path) for path, x in
           jax.tree_util.tree_flatten_with_path(state)[0]
           if jnp.issubdtype(x.dtype, jnp.floating)]
  return paths[flags.index(False)].lstrip(".")


def train_and_evaluate(config, workdir: str, *, tensorboard: bool = True):
  """Trains config.steps generator updates in workdir, resuming from its latest checkpoint.

  Returns the final train state. Raises JaxganError for bad input, NonFiniteLoss when a loss
  stops being finite (the last good checkpoint is left as it was), Interrupted on a signal.
  """
  experiment = Experiment(config)  # validates the config and the data before touching workdir
  checkpointer = Checkpointer(workdir, config.keep_checkpoints, config.keep_best,
                              config.keep_best_mode)
  iterator = experiment.train_iterator()
  latest = checkpointer.latest_step()
  if latest is not None:
    state = checkpointer.restore(latest, experiment.abstract_state, iterator)
    log.info("resumed from step %d in %s", latest, workdir)
  else:
    state = experiment.init_state(workdir)
  start = int(state.step)
  # Multi-host: every process computes (steps, grids and scores are collective), process 0
  # alone writes logs, pictures and scores into the shared workdir.
  lead = jax.process_index() == 0
  if lead:
    record_config(workdir, config, start)
  writer = make_writer(workdir, tensorboard=tensorboard) if lead else MultiWriter([])
  trainer = experiment.trainer

  stop_signal = []
  previous = {}
  def on_signal(signum, frame):
    del frame
    stop_signal.append(signum)
  for sig in (signal.SIGINT, signal.SIGTERM):
    try:
      previous[sig] = signal.signal(sig, on_signal)
    except ValueError:  # not the main thread: leave signals alone
      pass

  pending: list[tuple[int, dict]] = []
  last_good_step = latest

  def check_finite():
    bad = _first_nonfinite(pending)
    pending.clear()
    if bad:
      step, names = bad
      kept = (f"the last good checkpoint (step {last_good_step}) is intact"
              if last_good_step is not None else "no checkpoint was written")
      raise NonFiniteLoss(f"non-finite {', '.join(names)} at step {step}; stopping ({kept})")

  def save(step):
    nonlocal last_good_step
    check_finite()
    # Finite losses do not prove a finite state (an optimiser moment can overflow a step
    # before the loss does), and a checkpoint must be a state worth resuming.
    bad_leaf = _first_nonfinite_leaf(state)
    if bad_leaf is not None:
      kept = (f"the last good checkpoint (step {last_good_step}) is intact"
              if last_good_step is not None else "no checkpoint was written")
      raise NonFiniteLoss(f"non-finite train state at step {step} ({bad_leaf}); "
                          f"stopping ({kept})")
    if last_good_step != step:
      writer.flush()  # the logs cover at least what the checkpoint covers
      checkpointer.save(step, state, iterator)
      last_good_step = step

  def periodic(step, every):
    return every > 0 and step % every == 0

  bar = tqdm.tqdm(total=config.steps, initial=start, unit="step", dynamic_ncols=True,
                  mininterval=2.0, disable=None)
  window_start, window_steps = time.time(), 0
  try:
    for step in range(start + 1, config.steps + 1):
      batch = experiment.next_batch(iterator, step - 1)
      state, metrics = experiment.step_fn(step - 1)(state, batch)
      pending.append((step, metrics))
      window_steps += 1
      bar.update(1)
      if step % config.log_every == 0 or step == config.steps:
        check_finite()
        values = {k: float(v) for k, v in jax.device_get(metrics).items()}
        elapsed = time.time() - window_start
        values["steps_per_sec"] = window_steps / max(elapsed, 1e-9)
        values["eta_seconds"] = (config.steps - step) / max(values["steps_per_sec"], 1e-9)
        writer.write_scalars(step, values)
        bar.set_postfix({k: f"{values[k]:.3g}" for k in ("d_loss", "g_loss") if k in values})
        window_start, window_steps = time.time(), 0
      if periodic(step, config.sample_every) or step == config.steps:
        check_finite()
        grid = trainer.sample_grid(state)
        if lead:
          visualize.save_png(grid, os.path.join(workdir, "samples", f"step_{step:07d}.png"))
        writer.write_images(step, {"samples": grid[None]})
      due = [ev for ev in experiment.evaluators if ev.due(step, config.steps)]
      if due:
        check_finite()
        scores = experiment.evaluate(state, evaluators=due)
        writer.write_scalars(step, {f"eval/{k}": v for k, v in scores.items()})
        if lead:
          _append_json(os.path.join(workdir, "eval.jsonl"), {"step": step, **scores})
        checkpointer.record_scores(step, scores)
      if periodic(step, config.checkpoint_every) or step == config.steps:
        save(step)
      if stop_signal:
        save(step)
        raise Interrupted(stop_signal[0], step)
    writer.flush()
    return state
  finally:
    bar.close()
    writer.close()
    checkpointer.close()
    for sig, handler in previous.items():
      signal.signal(sig, handler)


def _append_json(path: str, record: dict):
  with open(path, "a", encoding="utf-8") as f:
    f.write(json.dumps(record) + "\n")
