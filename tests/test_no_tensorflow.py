"""The core (models, losses, the experiment and its train step) never imports TensorFlow.

TensorFlow is installed in the test environment (clu's writers and tfds preparation use it), so
an accidental import would go unnoticed without this check; accelerator images lack it.
"""

import importlib.util
import json
import math
import os
import subprocess
import sys
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_SCRIPT = textwrap.dedent("""
    import json, os, sys

    def tf_modules():
      return sorted(m for m in sys.modules if m == "tensorflow" or m.startswith("tensorflow."))

    seen = {}
    import jaxgan.models, jaxgan.losses
    seen["import"] = tf_modules()

    import jax, numpy as np
    from jaxgan.config import load_config_file
    from jaxgan.train.experiment import Experiment
    config = load_config_file(os.path.join(sys.argv[1], "configs", "dcgan_digits.py"))
    with config.unlocked():
      config.batch_size = 8
      config.latent_dim = 4
      config.data.image_size = 8
      config.generator.base_features = 2
      config.discriminator.base_features = 2
    experiment = Experiment(config)
    seen["experiment"] = tf_modules()

    state = experiment.init_state()
    iterator = experiment.train_iterator()
    batch = experiment.place_batch([next(iterator)])
    state, metrics = experiment.train_step(state, batch)
    jax.block_until_ready(state)
    seen["step"] = tf_modules()
    seen["step_count"] = int(state.step)
    seen["d_loss"] = float(metrics["d_loss"])
    print("RESULT" + json.dumps(seen))
    """)


def test_core_and_a_train_step_load_no_tensorflow():
  # The check means something only where TensorFlow could be imported.
  assert importlib.util.find_spec("tensorflow") is not None
  proc = subprocess.run([sys.executable, "-c", _SCRIPT, REPO], cwd=REPO, capture_output=True,
                        text=True, timeout=300, env=dict(os.environ, JAX_PLATFORMS="cpu"))
  assert proc.returncode == 0, proc.stderr[-3000:]
  line = next(l for l in proc.stdout.splitlines() if l.startswith("RESULT"))
  seen = json.loads(line[len("RESULT"):])
  assert seen["step_count"] == 1 and math.isfinite(seen["d_loss"])  # the step really ran
  assert seen["import"] == [], seen["import"][:5]
  assert seen["experiment"] == [], seen["experiment"][:5]
  assert seen["step"] == [], seen["step"][:5]
