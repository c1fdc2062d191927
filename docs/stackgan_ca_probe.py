"""How much of each caption attribute reaches StackGAN's generator through conditioning
augmentation: a linear probe (logistic regression) on the CA's mu, for a freshly initialised CA
on the stored 'gru' and 'multihot' embeddings, and for the trained Stage-I G of a workdir.

  python docs/stackgan_ca_probe.py [--workdir STAGE1_WORKDIR] [--d-check N]

Probe trained on the mu of 6000 sampled 'train' captions that mention the attribute, scored on
3000 sampled 'test' captions that mention it (seeded).

--d-check N (with --workdir, Stage-I or Stage-II): whether the run's D reads the attributes of
the condition: N real test renders (at the stage's size), each scored with the caption naming
all its attributes and with that caption with one attribute changed to another value (G's CA mu
of each, as in training); per attribute, the fraction of renders whose right caption scores
higher than the changed one (0.5: D ignores that attribute).
"""

from __future__ import annotations

import argparse
import sys

import jax
import numpy as np
from sklearn.linear_model import LogisticRegression

from jaxgan.data import captioned_digits as cd
from jaxgan.models.stackgan import CondAugment
from jaxgan.text.encoder import caption_embeddings


def probe_mu(ca_params, encoder: str, condition_dim: int) -> dict[str, float]:
  train, test = cd.captioned_digits("train"), cd.captioned_digits("test")
  rng = np.random.default_rng(0)
  tr_idx = rng.choice(len(train["images"]) * 10, 6000, replace=False)
  te_idx = rng.choice(len(test["images"]) * 10, 3000, replace=False)
  ca = CondAugment(condition_dim, sample=False)
  mu = lambda e: np.asarray(ca.apply({"params": ca_params}, e)[1])
  emb_tr, emb_te = caption_embeddings("train", encoder), caption_embeddings("test", encoder)
  mu_tr = mu(emb_tr[tr_idx // 10, tr_idx % 10])
  mu_te = mu(emb_te[te_idx // 10, te_idx % 10])
  scores = {}
  for attr in cd.ATTRIBUTES:
    m_tr = train["mentions"][attr][tr_idx // 10, tr_idx % 10]
    m_te = test["mentions"][attr][te_idx // 10, te_idx % 10]
    probe = LogisticRegression(max_iter=500).fit(mu_tr[m_tr],
                                                 train["attributes"][attr][tr_idx // 10][m_tr])
    scores[attr] = round(float(probe.score(mu_te[m_te],
                                           test["attributes"][attr][te_idx // 10][m_te])), 3)
  return scores


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", help="a StackGAN run: also probe its trained CA")
  parser.add_argument("--d-check", type=int, default=0, metavar="N",
                      help="with --workdir: does its D read each attribute of the caption")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  fresh = CondAugment(128, sample=False).init({"params": jax.random.PRNGKey(0)},
                                              np.zeros((2, 1024), np.float32))["params"]
  for encoder in ("gru_cca", "gru", "multihot"):
    print(f"fresh CA, {encoder}:", probe_mu(fresh, encoder, 128), flush=True)
  if args.workdir:
    from jaxgan.cli import _load_workdir  # pylint: disable=g-import-not-at-top
    config, _, state, step = _load_workdir(args.workdir)
    params = state.g_params["ca"]
    print(f"trained CA ({args.workdir}, step {step}, {config.data.text_encoder}):",
          probe_mu(params, config.data.text_encoder, config.condition_dim))
    if args.d_check:
      print(f"D prefers the right caption ({args.d_check} test renders):",
            d_check(config, state, args.d_check), flush=True)
  return 0


def d_check(config, state, num: int) -> dict[str, float]:
  from jaxgan.models import stackgan as models  # pylint: disable=g-import-not-at-top
  from jaxgan.text.encoder import embed_captions  # pylint: disable=g-import-not-at-top
  test = cd.captioned_digits("test")
  rng = np.random.default_rng(1)
  index = rng.choice(len(test["images"]), num, replace=False)
  size = config.stage1_size if config.stage == 1 else config.data.image_size
  images = cd.to_model_images(test["images"][index], size)
  everything = {a: True for a in cd.ATTRIBUTES}
  attrs = [{a: int(test["attributes"][a][i]) for a in cd.ATTRIBUTES} for i in index]
  ca = CondAugment(config.condition_dim, sample=False)
  ca_params = state.g_params["ca"]
  disc = models.StackGANDiscriminator(config.discriminator.df_dim,
                                      unconditional_head=config.stage == 2)
  variables = {"params": state.d_params, **state.d_state}

  def logits(captions):
    emb = embed_captions(captions, config.data.text_encoder)
    mu = ca.apply({"params": ca_params}, emb)[1]
    return np.asarray(disc.apply(variables, images, mu, train=False)["cond"])

  right = logits([cd.caption(a, everything, 0, rng) for a in attrs])
  scores = {}
  for attr in cd.ATTRIBUTES:
    changed = []
    for a in attrs:
      other = dict(a)
      other[attr] = (a[attr] + rng.integers(1, cd.NUM_VALUES[attr])) % cd.NUM_VALUES[attr]
      changed.append(cd.caption(other, everything, 0, rng))
    scores[attr] = round(float(np.mean(right > logits(changed))), 3)
  return scores


if __name__ == "__main__":
  sys.exit(main())
