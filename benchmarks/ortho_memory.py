"""XLA's memory analysis of the BigGAN-128 train step (compiled, not run).

The figure behind BigGAN's orthogonal regulariser: its Gram matrix over the long side of G's
first linear layer (20 x 24576, (z chunk, 4*4*16*ch)) is 24576 x 24576 floats, 2.25 GiB, per
micro-batch; over the short side it is 20 x 20. This script builds `configs/biggan_imagenet128.py`
at a small batch (ImageNet is not needed: the step is lowered from abstract shapes), compiles
one train step on this machine's backend and prints XLA's memory analysis as one JSON line.

  .venv/bin/python benchmarks/ortho_memory.py [--batch-size 4] [--grad-accum-steps 2]
      [--n-critic 1] [--no-ortho] [--remat] [--compute-dtype bfloat16]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import jax
import jax.numpy as jnp

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from jaxgan.config import apply_overrides, load_config_file  # pylint: disable=wrong-import-position
from jaxgan.data.base import DataInfo  # pylint: disable=wrong-import-position
from jaxgan.train import adversarial  # pylint: disable=wrong-import-position
from jaxgan.train.phases import compose_step  # pylint: disable=wrong-import-position

IMAGENET128 = DataInfo("imagenet2012", "images", (128, 128, 3), 1000)
GIB = 1 << 30


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batch-size", type=int, default=4)
  parser.add_argument("--grad-accum-steps", type=int, default=2)
  parser.add_argument("--n-critic", type=int, default=1)
  parser.add_argument("--no-ortho", action="store_true", help="orthogonal regulariser off")
  parser.add_argument("--remat", action="store_true",
                      help="config.remat: jax.checkpoint per residual block of G and D")
  parser.add_argument("--compute-dtype", default="float32", choices=["float32", "bfloat16"])
  args = parser.parse_args(argv)
  overrides = {"batch_size": str(args.batch_size),
               "grad_accum_steps": str(args.grad_accum_steps), "n_critic": str(args.n_critic)}
  if args.no_ortho:
    overrides["g_terms.ortho_reg.weight"] = "0.0"
  overrides["remat"] = str(args.remat).lower()
  overrides["compute_dtype"] = args.compute_dtype
  config = apply_overrides(
      load_config_file(os.path.join(REPO, "configs", "biggan_imagenet128.py")), overrides)
  trainer = adversarial.AdversarialTrainer(config, IMAGENET128)
  state = jax.eval_shape(trainer.init_state, jax.random.PRNGKey(0))
  batch = {"image": jax.ShapeDtypeStruct((args.n_critic, args.batch_size, 128, 128, 3),
                                         jnp.float32),
           "label": jax.ShapeDtypeStruct((args.n_critic, args.batch_size), jnp.int32)}
  phases = trainer.phases(lambda x: x)
  step = compose_step(phases, trainer.step_variant(phases, 0), trainer.num_keys)
  start = time.perf_counter()
  compiled = jax.jit(step, donate_argnums=0).lower(state, batch).compile()
  compile_s = time.perf_counter() - start
  stats = compiled.memory_analysis()
  peak = (stats.argument_size_in_bytes + stats.output_size_in_bytes - stats.alias_size_in_bytes
          + stats.temp_size_in_bytes + stats.generated_code_size_in_bytes)
  print(json.dumps({
      "backend": jax.default_backend(), **vars(args), "compile_s": round(compile_s, 1),
      "temp_gib": round(stats.temp_size_in_bytes / GIB, 3),
      "argument_gib": round(stats.argument_size_in_bytes / GIB, 3),
      "output_gib": round(stats.output_size_in_bytes / GIB, 3),
      "alias_gib": round(stats.alias_size_in_bytes / GIB, 3),
      "peak_gib": round(peak / GIB, 3)}))


if __name__ == "__main__":
  main()
