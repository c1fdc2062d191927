"""Helper of tests/test_portable.py: restore a workdir's checkpoint in this process (on however
many devices XLA_FLAGS gives it) and write its train state to an .npz.

  python tests/dump_checkpoint.py WORKDIR STEP OUT.npz
"""

import json
import os
import sys

import jax
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import ml_collections  # pylint: disable=wrong-import-position

from jaxgan.train.checkpoints import Checkpointer  # pylint: disable=wrong-import-position
from jaxgan.train.experiment import Experiment  # pylint: disable=wrong-import-position


def main():
  workdir, step, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
  with open(os.path.join(workdir, "config.json"), encoding="utf-8") as f:
    config = ml_collections.ConfigDict(json.load(f))
  experiment = Experiment(config)
  checkpointer = Checkpointer(workdir, config.keep_checkpoints)
  iterator = experiment.train_iterator()
  state = checkpointer.restore(step, experiment.abstract_state, iterator)
  checkpointer.close()
  flat = {jax.tree_util.keystr(path): np.asarray(jax.device_get(leaf))
          for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]}
  flat["data_position"] = np.asarray(iterator.get_state()["next_index"])
  flat["num_devices"] = np.asarray(jax.device_count())
  np.savez(out, **flat)


if __name__ == "__main__":
  main()
