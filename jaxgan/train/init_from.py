"""Starting a run from another run's weights: config.init_from = 'WORKDIR[:STEP]'.

For fine-tuning: a run that starts from scratch takes G's and D's parameters, their
collections (batch-norm averages, spectral-norm vectors, StyleGAN's w_avg and noise buffers)
and G's EMA from checkpoint STEP (default the latest) of WORKDIR; the optimiser states, the step
counter, the key, `extra` (path-length mean, ProGAN's stage) and the data position start
fresh. The donor is read from its checkpoint alone (no need for its config or data), and every
array must match this config's by path, shape and dtype. A run that resumes from its own
checkpoint ignores init_from.
"""

from __future__ import annotations

import logging
import os
import re

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.errors import JaxganError
from jaxgan.train.checkpoints import _leaf_signatures

log = logging.getLogger("jaxgan")

TRANSFERRED = ("g_params", "d_params", "g_state", "d_state")
_SPEC = re.compile(r"^(.+?)(?::(\d+))?$")


def parse(spec: str) -> tuple[str, int | None]:
  """'WORKDIR' or 'WORKDIR:STEP' -> (workdir, step or None)."""
  match = _SPEC.match(spec)
  if not match:
    raise JaxganError(f"init_from must be WORKDIR or WORKDIR:STEP, got {spec!r}")
  step = match.group(2)
  return match.group(1), None if step is None else int(step)


def restore_donor(spec: str) -> tuple[dict, int]:
  """The donor's saved state as a dict of numpy arrays, and its step."""
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  workdir, step = parse(spec)
  directory = os.path.abspath(os.path.join(os.path.expanduser(workdir), "checkpoints"))
  if not os.path.isdir(os.path.expanduser(workdir)):
    raise JaxganError(f"init_from: {workdir} does not exist")
  if not os.path.isdir(directory):
    raise JaxganError(f"init_from: {workdir} has no checkpoints")
  manager = ocp.CheckpointManager(
      directory, options=ocp.CheckpointManagerOptions(create=False),
      item_handlers={"state": ocp.StandardCheckpointHandler()})
  try:
    steps = sorted(manager.all_steps())
    if not steps:
      raise JaxganError(f"init_from: {workdir} has no checkpoints")
    if step is None:
      step = steps[-1]
    elif step not in steps:
      raise JaxganError(f"init_from: no checkpoint {step} in {workdir}; there are {steps}")
    try:
      restored = manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))
    except Exception as e:  # pylint: disable=broad-except
      first = (str(e).strip().splitlines() or [type(e).__name__])[0]
      raise JaxganError(f"init_from: could not read checkpoint {step} of {workdir}: "
                        f"{type(e).__name__}: {first}") from e
  finally:
    manager.close()
  return jax.tree_util.tree_map(np.asarray, restored["state"]), step


def _mismatches(name: str, wanted, donor) -> list[str]:
  mine = _leaf_signatures(wanted)
  theirs = _leaf_signatures(donor) if donor is not None else {}
  out = []
  for path in sorted(set(mine) | set(theirs)):
    if mine.get(path) != theirs.get(path):
      def show(sig):
        return "absent" if sig is None else f"{sig[0]} {sig[1]}"
      out.append(f"{name}/{path} is {show(theirs.get(path))} there but "
                 f"{show(mine.get(path))} here")
  return out


def _take(wanted, donor):
  """donor's arrays in wanted's tree structure (paths already checked to match)."""
  by_path = {path: leaf for path, leaf in _flat_with_paths(donor)}
  return jax.tree_util.tree_map_with_path(
      lambda path, leaf: jnp.asarray(by_path[_path_text(path)], leaf.dtype), wanted)


def _path_text(path) -> str:
  parts = []
  for entry in path:
    for attr in ("key", "name", "idx"):
      if hasattr(entry, attr):
        parts.append(str(getattr(entry, attr)))
        break
  return "/".join(parts)


def _flat_with_paths(tree):
  return [(_path_text(p), leaf) for p, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]]


def apply(state, spec: str):
  """`state` (a fresh TrainState) with the donor's weights; a one-line error naming the
  mismatched arrays by path when they do not fit."""
  donor, step = restore_donor(spec)
  pairs = [(name, getattr(state, name), donor.get(name)) for name in TRANSFERRED]
  if state.ema_params is not None:
    # A donor without an EMA hands its G: the average starts from the weights it fine-tunes.
    ema = donor.get("ema_params")
    pairs.append(("ema_params", state.ema_params, ema if ema else donor.get("g_params")))
  problems = [p for name, wanted, theirs in pairs for p in _mismatches(name, wanted, theirs)]
  if problems:
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    raise JaxganError(f"init_from {spec}: its weights do not fit this config: {problems[0]}"
                      f"{more}")
  updates = {name: _take(wanted, theirs) for name, wanted, theirs in pairs}
  log.info("initialised from step %d of %s (weights only: fresh optimiser, step 0)", step,
           parse(spec)[0])
  return state.replace(**updates)
