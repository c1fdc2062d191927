"""orbax checkpoints of the train state and the data position, and their checks.

Portable: the state is restored onto the abstract state's shardings (this run's mesh, whatever
the mesh that wrote it: N devices or processes to M, replicated or FSDP-sharded), and the data
position is one number (the global batch stream's next index, the same in every process),
saved as JSON. So a run trained on a pod resumes, samples and evaluates on a laptop.
"""

from __future__ import annotations

import json
import logging
import os
import time

import jax
import orbax.checkpoint as ocp

from jaxgan.errors import JaxganError

log = logging.getLogger("jaxgan")


class UnreadableCheckpoint(JaxganError):
  """A checkpoint whose files cannot be read back (as opposed to one of another config)."""


def _leaf_signatures(tree) -> dict[str, tuple]:
  """path -> (shape, dtype) for every array leaf, with paths that dataclasses and dicts share."""
  out = {}
  for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    parts = []
    for entry in path:
      for attr in ("key", "name", "idx"):
        if hasattr(entry, attr):
          parts.append(str(getattr(entry, attr)))
          break
    out["/".join(parts)] = (tuple(leaf.shape), str(leaf.dtype))
  return out


def _one_line(error: Exception) -> str:
  text = str(error).strip().splitlines()
  return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _os_cause(error: BaseException) -> str:
  """The first OSError in error's chain as 'strerror (errno N)', else its one line."""
  seen = error
  while seen is not None:
    if isinstance(seen, OSError) and seen.strerror:
      return f"{seen.strerror} (errno {seen.errno})"
    seen = seen.__cause__ or seen.__context__
  return _one_line(error)


class Checkpointer:
  """Keeps the `keep` newest checkpoints, and with keep_best the one with the best score."""

  def __init__(self, workdir: str, keep: int, keep_best: str = "", keep_best_mode: str = "min"):
    self.directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
    self.keep, self.keep_best, self.keep_best_mode = keep, keep_best, keep_best_mode
    self.manager = ocp.CheckpointManager(
        self.directory, options=ocp.CheckpointManagerOptions(max_to_keep=None, create=False),
        item_handlers={"state": ocp.StandardCheckpointHandler(),
                       "data": ocp.JsonCheckpointHandler()})
    self._scores_path = os.path.join(self.directory, "scores.json")

  def all_steps(self) -> list[int]:
    return sorted(self.manager.all_steps())

  def latest_step(self):
    return self.manager.latest_step()

  def check_compatible(self, step: int, abstract_state):
    """Raises a one-line error when the checkpoint's arrays do not match this config's."""
    try:
      saved = _leaf_signatures(self.manager.item_metadata(step)["state"].tree)
    except Exception as e:  # unreadable metadata is a broken checkpoint
      raise UnreadableCheckpoint(f"checkpoint {step} in {self.directory} is unreadable: "
                        f"{_one_line(e)}") from e
    wanted = _leaf_signatures(abstract_state)
    for path in sorted(set(saved) | set(wanted)):
      if saved.get(path) != wanted.get(path):
        raise JaxganError(
            f"the checkpoint in {self.directory} comes from an incompatible config: "
            f"{path or 'state'} is {saved.get(path, 'absent')} there but "
            f"{wanted.get(path, 'absent')} in this config (use another --workdir)")

  def restore(self, step: int, abstract_state, data_iterator=None):
    """The state of checkpoint `step` on abstract_state's shardings; the data iterator, when
    given, moved to the position saved with it."""
    if step not in self.all_steps():
      raise JaxganError(f"no checkpoint {step} in {self.directory}; there are "
                        f"{self.all_steps() or 'none'}")
    self.check_compatible(step, abstract_state)
    args = {"state": ocp.args.StandardRestore(abstract_state)}
    if data_iterator is not None:
      args["data"] = ocp.args.JsonRestore()
    try:
      restored = self.manager.restore(step, args=ocp.args.Composite(**args))
    except Exception as e:
      raise UnreadableCheckpoint(f"could not restore checkpoint {step} from {self.directory}: "
                                 f"{_one_line(e)}") from e
    if data_iterator is not None:
      data_iterator.set_state(restored["data"])
    return restored["state"]

  def restore_latest(self, abstract_state, data_iterator=None, use_previous: bool = False,
                     command: str = "--resume-from-previous"):
    """(state, step) of the latest checkpoint. When it is unreadable: with use_previous the
    newest intact one (the bad one moved aside, never deleted), else a one-line error naming
    the intact one and `command` (with '{step}' for its step), the way to take it."""
    latest = self.latest_step()
    try:
      return self.restore(latest, abstract_state, data_iterator), latest
    except UnreadableCheckpoint as e:
      bad = e
    intact = None
    for step in reversed(self.all_steps()[:-1]):
      try:
        state = self.restore(step, abstract_state, data_iterator)
      except UnreadableCheckpoint:
        continue
      intact = step
      break
    if intact is None:
      raise JaxganError(f"{bad}; no older intact checkpoint in {self.directory}") from bad
    if not use_previous:
      raise JaxganError(f"{bad}; the newest intact checkpoint is {intact}: rerun with "
                        f"{command.format(step=intact)} to use it (checkpoint {latest} is "
                        "kept)") from bad
    aside = self.move_aside(latest)
    log.warning("jaxgan: checkpoint %d is unreadable (%s); resuming from %d, the newest intact "
                "one; the unreadable one is kept in %s", latest, bad, intact, aside)
    return state, intact

  def move_aside(self, step: int) -> str:
    """Moves checkpoint `step` out of the checkpoints folder (a rerun will write that step
    again) into WORKDIR/unreadable_checkpoints/STEP-TIME, keeping every byte."""
    target = os.path.join(os.path.dirname(self.directory), "unreadable_checkpoints",
                          f"{step}-{time.strftime('%Y%m%dT%H%M%S')}")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.rename(os.path.join(self.directory, str(step)), target)
    self.manager.reload()
    return target

  def save(self, step: int, state, data_iterator):
    """Writes checkpoint `step`; a failure (full disk, a folder that cannot be written) is a
    one-line error, and orbax's write-then-rename leaves the previous checkpoints as they were."""
    try:
      os.makedirs(self.directory, exist_ok=True)
      self.manager.save(step, args=ocp.args.Composite(
          state=ocp.args.StandardSave(state),
          data=ocp.args.JsonSave(data_iterator.get_state())), force=True)
      self.manager.wait_until_finished()
    except Exception as e:  # pylint: disable=broad-except  # orbax wraps OSErrors its own ways
      previous = [s for s in self.all_steps() if s != step]
      kept = (f"checkpoint {previous[-1]} is intact" if previous else "no checkpoint was written")
      cause = _os_cause(e)
      raise JaxganError(f"could not write checkpoint {step} in {self.directory}: "
                        f"{cause}; {kept}") from e
    self._prune()

  # ---------------------------------------------------------------- keeping the best

  def _scores(self) -> dict[int, float]:
    if not os.path.exists(self._scores_path):
      return {}
    with open(self._scores_path, encoding="utf-8") as f:
      return {int(k): float(v) for k, v in json.load(f).items()}

  def record_scores(self, step: int, scores: dict):
    """Remembers step's keep_best score (when it has one) for pruning."""
    if not self.keep_best or self.keep_best not in scores or jax.process_index() != 0:
      return
    saved = self._scores()
    saved[step] = float(scores[self.keep_best])
    os.makedirs(self.directory, exist_ok=True)
    tmp = self._scores_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
      json.dump({str(k): v for k, v in sorted(saved.items())}, f)
    os.replace(tmp, self._scores_path)
    self._prune()

  def best_step(self):
    """The checkpointed step with the best keep_best score, or None."""
    steps = set(self.all_steps())
    scored = {s: v for s, v in self._scores().items() if s in steps}
    if not scored:
      return None
    pick = min if self.keep_best_mode == "min" else max
    return pick(scored, key=lambda s: (scored[s], -s))

  def _prune(self):
    steps = self.all_steps()
    keep = set(steps[-self.keep:])
    best = self.best_step()
    if best is not None:
      keep.add(best)
    for step in steps:
      if step not in keep:
        self.manager.delete(step)

  def close(self):
    # Runs in `finally` blocks: a failure here must not replace the error that got us there.
    try:
      self.manager.close()
    except Exception as e:  # pylint: disable=broad-except
      log.warning("jaxgan: closing the checkpoints in %s failed: %s", self.directory,
                  _one_line(e))
