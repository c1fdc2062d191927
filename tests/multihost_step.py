"""Helper of tests/test_multihost.py: a few train steps of a tiny BigGAN in one process of a
(possibly multi-process) run; writes process 0's resulting state to an .npz.

  python tests/multihost_step.py OUT.npz NUM_PROCESSES PROCESS_ID PORT [shard]

With NUM_PROCESSES > 1 the processes meet at 127.0.0.1:PORT (gloo collectives on CPU) through
the config's distributed.* keys. The device count comes from XLA_FLAGS, set by the caller.
With 'shard', parameters and optimiser state are sharded over the devices (shard_params).
"""

import json
import os
import sys

import jax
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from jaxgan.config import apply_overrides, load_config_file  # pylint: disable=wrong-import-position
from jaxgan.train import parallel  # pylint: disable=wrong-import-position
from jaxgan.train.experiment import Experiment  # pylint: disable=wrong-import-position

TINY_BIGGAN = {
    "batch_size": "8", "latent_dim": "8", "data.image_size": "8", "n_critic": "1",
    "generator.ch": "2", "generator.channel_multipliers": "(4, 4)",
    "generator.attention_resolutions": "(8,)", "generator.shared_dim": "4",
    "discriminator.ch": "2", "discriminator.channel_multipliers": "(4, 4)",
    "discriminator.downsample": "(True, False)", "discriminator.attention_resolutions": "(4,)",
    "ema.start": "0",
}


def main():
  out, num_processes, process_id, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
  overrides = dict(TINY_BIGGAN)
  shard = len(sys.argv) > 5 and sys.argv[5] == "shard"
  if shard:
    overrides["shard_params"] = "true"
    parallel.FSDP_MIN_SIZE = 64  # the tiny model's arrays are small: shard nearly all of them
  if num_processes > 1:
    overrides.update({"distributed.coordinator_address": f"127.0.0.1:{port}",
                      "distributed.num_processes": str(num_processes),
                      "distributed.process_id": str(process_id)})
  config = apply_overrides(load_config_file(os.path.join(REPO, "configs", "biggan_digits.py")),
                           overrides)
  experiment = Experiment(config)
  state = experiment.init_state()
  iterator = experiment.train_iterator()
  local_shapes = []
  for _ in range(2):
    local = [next(iterator) for _ in range(config.n_critic)]
    local_shapes.append(list(local[0]["image"].shape))
    state, metrics = experiment.train_step(state, experiment.place_batch(local))
  leaves = jax.tree_util.tree_leaves(state.g_params)
  num_sharded = sum(1 for leaf in leaves if leaf.addressable_data(0).shape != leaf.shape)
  shardable = sum(1 for leaf in leaves if leaf.size >= parallel.FSDP_MIN_SIZE and any(
      d % jax.device_count() == 0 for d in leaf.shape))
  # Replicated arrays: every process holds the whole value on its devices (sharded ones are
  # gathered, single-process).
  host = lambda x: np.asarray(x.addressable_data(0) if x.is_fully_replicated else x)
  flat = {jax.tree_util.keystr(path): host(leaf)
          for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]}
  flat.update({f"metric/{k}": host(v) for k, v in metrics.items()})
  info = {"process_count": jax.process_count(), "process_index": jax.process_index(),
          "devices": jax.device_count(), "local_devices": jax.local_device_count(),
          "local_batch_shapes": local_shapes, "sharded_g_params": num_sharded,
          "shardable_g_params": shardable}
  if jax.process_index() == 0:
    np.savez(out, **flat)
    with open(out + ".json", "w", encoding="utf-8") as f:
      json.dump(info, f)
  else:
    with open(out + f".{jax.process_index()}.json", "w", encoding="utf-8") as f:
      json.dump(info, f)


if __name__ == "__main__":
  main()
