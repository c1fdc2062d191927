"""orbax checkpoints of the train state and the data iterator's position, and their checks."""

from __future__ import annotations

import os

import grain
import jax
import orbax.checkpoint as ocp

from jaxgan.errors import JaxganError


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


class Checkpointer:
  def __init__(self, workdir: str, keep: int):
    self.directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
    self.manager = ocp.CheckpointManager(
        self.directory, options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=False),
        item_handlers={"state": ocp.StandardCheckpointHandler(),
                       "data": grain.checkpoint.CheckpointHandler()})

  def latest_step(self):
    return self.manager.latest_step()

  def check_compatible(self, step: int, abstract_state):
    """Raises a one-line error when the checkpoint's arrays do not match this config's."""
    try:
      saved = _leaf_signatures(self.manager.item_metadata(step)["state"].tree)
    except Exception as e:  # unreadable metadata is a broken checkpoint
      raise JaxganError(f"checkpoint {step} in {self.directory} is unreadable: "
                        f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
    wanted = _leaf_signatures(abstract_state)
    for path in sorted(set(saved) | set(wanted)):
      if saved.get(path) != wanted.get(path):
        raise JaxganError(
            f"the checkpoint in {self.directory} comes from an incompatible config: "
            f"{path or 'state'} is {saved.get(path, 'absent')} there but "
            f"{wanted.get(path, 'absent')} in this config (use another --workdir)")

  def restore(self, step: int, abstract_state, data_iterator=None):
    self.check_compatible(step, abstract_state)
    args = {"state": ocp.args.StandardRestore(abstract_state)}
    if data_iterator is not None:
      args["data"] = grain.checkpoint.CheckpointRestore(data_iterator)
    try:
      restored = self.manager.restore(step, args=ocp.args.Composite(**args))
    except Exception as e:
      raise JaxganError(f"could not restore checkpoint {step} from {self.directory}: "
                        f"{type(e).__name__}") from e
    return restored["state"]

  def save(self, step: int, state, data_iterator):
    os.makedirs(self.directory, exist_ok=True)
    self.manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        data=grain.checkpoint.CheckpointSave(data_iterator)), force=True)
    self.manager.wait_until_finished()

  def close(self):
    self.manager.close()
