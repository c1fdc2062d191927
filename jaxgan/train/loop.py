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
from jaxgan.config import base_config
from jaxgan.errors import JaxganError
from jaxgan.train import compilation_cache
from jaxgan.train.checkpoints import Checkpointer, UnreadableCheckpoint
from jaxgan.train import workdir as workdir_lib
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


# Keys a resumed run may change without --allow-config-change: how long it runs and what it
# logs, samples, evaluates and keeps, none of which changes what the steps compute ('*' matches
# one part of a dotted key). distributed.* and shard_params only place the same computation.
RESUME_ALLOWED = ("steps", "checkpoint_every", "sample_every", "log_every", "keep_checkpoints",
                  "keep_best", "keep_best_mode", "sample_grid", "eval.*", "evals.*.every",
                  "evals.*.num_samples", "distributed.*", "shard_params",
                  "init_from",  # init_from only matters to a run's start
                  # the same values, computed with less memory / compiled from a cache
                  "remat", "compilation_cache")


def _allowed_on_resume(key: str) -> bool:
  parts = key.split(".")
  return any(len(p.split(".")) == len(parts) and
             all(a in ("*", b) for a, b in zip(p.split("."), parts)) for p in RESUME_ALLOWED)


def config_changes(workdir: str, config) -> dict:
  """{key: [recorded, new]} between config.json in workdir and config ({} when there is none)."""
  path = os.path.join(workdir, "config.json")
  try:
    with open(path, encoding="utf-8") as f:
      old = json.load(f)
  except FileNotFoundError:
    return {}
  except (OSError, json.JSONDecodeError) as e:
    raise JaxganError(f"{path} is not a readable config ({e}); move it away to start afresh "
                      "from the checkpoints") from e
  before, after = _flat(old), _flat(json.loads(config.to_json_best_effort()))
  # A key the recorded config lacks came with a later version of jaxgan; at its default it
  # keeps the behaviour the run was trained with (new options default to off), so it is no change.
  defaults = _flat(json.loads(base_config().to_json_best_effort()))
  return {k: [before.get(k), after.get(k)] for k in sorted(set(before) | set(after))
          if before.get(k) != after.get(k)
          and not (k not in before and k in defaults and after.get(k) == defaults[k])}


def check_config_change(workdir: str, config, step: int, allow: bool):
  """Refuses, before anything is written, a resume whose config differs from the recorded one
  outside RESUME_ALLOWED, showing the difference; --allow-config-change accepts it (and
  record_config writes it to config_history.jsonl)."""
  refused = {k: v for k, v in config_changes(workdir, config).items()
             if not _allowed_on_resume(k)}
  if refused and not allow:
    diff = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in refused.items())
    raise JaxganError(f"the config differs from the one checkpoint {step} in {workdir} was "
                      f"trained with ({diff}); rerun with --allow-config-change to accept, or "
                      "use another --workdir")


def train_and_evaluate(config, workdir: str, *, tensorboard: bool = True,
                       allow_config_change: bool = False, resume_from_previous: bool = False):
  """Trains config.steps generator updates in workdir, resuming from its latest checkpoint.

  Everything that can be checked is checked before the first write: the config (Experiment),
  the paths, the lock, the checkpoint and the config's changes, the step's memory.
  Returns the final train state. Raises JaxganError for bad input, NonFiniteLoss when a loss
  stops being finite (the last good checkpoint is left as it was), Interrupted on a signal.
  """
  experiment = Experiment(config)  # validates the config and the data before touching workdir
  cache = compilation_cache.enable(config.get("compilation_cache", "auto"))
  if cache:
    log.info("compilation cache: %s", cache)
  # Multi-host: every process computes (steps, grids and scores are collective), process 0
  # alone writes logs, pictures, scores and the lock into the shared workdir.
  lead = jax.process_index() == 0
  workdir_lib.check_writable(workdir)
  lock = workdir_lib.WorkdirLock(workdir)
  if lead:
    lock.check()
  checkpointer = Checkpointer(workdir, config.keep_checkpoints, config.keep_best,
                              config.keep_best_mode)
  try:
    iterator = experiment.train_iterator()
    latest = checkpointer.latest_step()
    if latest is not None:
      # A change of the state's shapes is refused whatever the flags; then other changes.
      try:
        checkpointer.check_compatible(latest, experiment.abstract_state)
      except UnreadableCheckpoint:
        pass  # restore_latest says so and names the newest intact one
      check_config_change(workdir, config, latest, allow_config_change)
      state, latest = checkpointer.restore_latest(experiment.abstract_state, iterator,
                                                  resume_from_previous)
      log.info("resumed from step %d in %s", latest, workdir)
    else:
      state = experiment.init_state(workdir)
    start = int(state.step)
    experiment.check_memory(start)
    if lead:
      lock.acquire()
      record_config(workdir, config, start)
      for name in ("metrics.jsonl", "eval.jsonl"):
        workdir_lib.trim_jsonl(os.path.join(workdir, name), start)
    return _train(experiment, config, workdir, checkpointer, iterator, state, latest, start,
                  lead, tensorboard)
  except OSError as e:
    # A path that passed the checks failed later (a disk filled, a folder was made read-only).
    kept = checkpointer.all_steps() if os.path.isdir(checkpointer.directory) else []
    kept_text = f"checkpoint {kept[-1]} is intact" if kept else "no checkpoint was written"
    raise JaxganError(f"could not write {e.filename or workdir}: {workdir_lib.describe(e)}; "
                      f"{kept_text}") from e
  finally:
    checkpointer.close()
    lock.release()


def _train(experiment, config, workdir, checkpointer, iterator, state, latest, start, lead,
           tensorboard):
  """The loop itself, from step `start` (a checkpoint's, or 0) to config.steps."""
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
          workdir_lib.fsync_append(os.path.join(workdir, "eval.jsonl"), {"step": step, **scores})
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
    for sig, handler in previous.items():
      signal.signal(sig, handler)
