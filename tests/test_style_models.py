"""ProGAN, StyleGAN and StyleGAN2 networks: growing (one parameter layout, fade-in ends), shapes,
mixing, truncation, the tracked average w, build() from a config, and the full-size parameter
counts against the official code's printouts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import models
from jaxgan.config import base_config
from jaxgan.data.base import DataInfo
from jaxgan.models.progan import ProGANDiscriminator, ProGANGenerator
from jaxgan.models.stylegan import StyleGANDiscriminator, StyleGANGenerator
from jaxgan.models.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator
from jaxgan.nn.fir import downscale_avg, upscale_nearest

KEY = jax.random.PRNGKey(0)
RNGS = {"params": KEY, "noise": jax.random.PRNGKey(1)}
SIZE = 16
TINY = dict(fmap_base=64, fmap_max=8)  # nf: 8 up to 8x8, then 4 at 16x16
TINY_MAP = dict(w_dim=6, mapping_layers=2, mapping_features=6)
Z = jax.random.normal(jax.random.PRNGKey(7), (4, 5))


def count_params(tree) -> int:
  return int(sum(np.prod(x.shape, dtype=np.int64) for x in jax.tree_util.tree_leaves(tree)))


def shapes(tree):
  return jax.tree_util.tree_map(lambda a: a.shape, tree)


def tiny(kind):
  if kind == "progan":
    return (ProGANGenerator(image_size=SIZE, channels=3, **TINY),
            ProGANDiscriminator(image_size=SIZE, mbstd_group_size=2, **TINY))
  return (StyleGANGenerator(image_size=SIZE, channels=3, **TINY, **TINY_MAP),
          StyleGANDiscriminator(image_size=SIZE, mbstd_group_size=2, **TINY))


def perturb(params, name):
  return {**params, name: jax.tree_util.tree_map(lambda p: p + 0.5, params[name])}


# ---------------------------------------------------------------------------------------------
# Growing (ProGAN, and StyleGAN's optional growing).


@pytest.mark.parametrize("kind", ["progan", "stylegan"])
def test_growing_keeps_one_parameter_layout_and_every_resolution_has_its_shape(kind):
  g, d = tiny(kind)
  g_at_4 = g.init(RNGS, Z, resolution=4)
  g_at_16 = g.init(RNGS, Z, resolution=16)
  assert shapes(g_at_4) == shapes(g_at_16)
  assert "to_rgb_16" in g_at_4["params"] and "to_rgb_4" in g_at_16["params"]
  d_at_4 = d.init(KEY, jnp.zeros((4, 4, 4, 3)))
  d_at_16 = d.init(KEY, jnp.zeros((4, 16, 16, 3)))
  assert shapes(d_at_4) == shapes(d_at_16)
  assert "from_rgb_16" in d_at_4["params"] and "from_rgb_4" in d_at_16["params"]
  for r in (4, 8, 16):
    images = g.apply(g_at_4, Z, resolution=r, alpha=0.3, rngs={"noise": KEY})
    assert images.shape == (4, r, r, 3) and images.dtype == jnp.float32
    logits = d.apply(d_at_4, jnp.ones((4, r, r, 3)), alpha=0.3)
    assert logits.shape == (4,)
  with pytest.raises(ValueError):
    g.apply(g_at_4, Z, resolution=32)
  with pytest.raises(ValueError):
    d.apply(d_at_4, jnp.ones((4, 8, 8, 3)), resolution=16)


@pytest.mark.parametrize("kind", ["progan", "stylegan"])
def test_fade_in_ends(kind):
  """alpha=0 at r is the previous resolution's output upsampled (G) / the downsampled image
  through the previous path (D); alpha=1 is the new block alone (the old toRGB/fromRGB unused)."""
  g, d = tiny(kind)
  kw = {} if kind == "progan" else {"noise_mode": "const", "train": False}
  gv = g.init(RNGS, Z)
  dv = d.init(KEY, jnp.zeros((4, SIZE, SIZE, 3)))
  x = jax.random.normal(KEY, (4, SIZE, SIZE, 3))
  for r in (8, 16):
    old = g.apply(gv, Z, resolution=r // 2, alpha=1.0, **kw)
    np.testing.assert_allclose(g.apply(gv, Z, resolution=r, alpha=0.0, **kw),
                               upscale_nearest(old), rtol=1e-5, atol=1e-6)
    new = g.apply(gv, Z, resolution=r, alpha=1.0, **kw)
    assert not np.allclose(new, upscale_nearest(old), atol=1e-3)
    other = {**gv, "params": perturb(gv["params"], f"to_rgb_{r // 2}")}
    np.testing.assert_allclose(g.apply(other, Z, resolution=r, alpha=1.0, **kw), new,
                               rtol=1e-6, atol=1e-6)
    mid = g.apply(gv, Z, resolution=r, alpha=0.25, **kw)
    np.testing.assert_allclose(mid, 0.75 * upscale_nearest(old) + 0.25 * new, rtol=1e-4,
                               atol=1e-5)

    xr = x if r == SIZE else downscale_avg(x, SIZE // r)
    np.testing.assert_allclose(d.apply(dv, xr, alpha=0.0),
                               d.apply(dv, downscale_avg(xr), alpha=1.0), rtol=1e-5, atol=1e-5)
    new_d = d.apply(dv, xr, alpha=1.0)
    other_d = {"params": perturb(dv["params"], f"from_rgb_{r // 2}")}
    np.testing.assert_allclose(d.apply(other_d, xr, alpha=1.0), new_d, rtol=1e-6, atol=1e-6)
    assert not np.allclose(d.apply(other_d, xr, alpha=0.5), d.apply(dv, xr, alpha=0.5))


# ---------------------------------------------------------------------------------------------
# Style models: mapping, mixing, the tracked average w, truncation.

STYLE = {
    "stylegan": lambda: StyleGANGenerator(image_size=SIZE, channels=3, **TINY, **TINY_MAP),
    "stylegan2": lambda: StyleGAN2Generator(image_size=SIZE, channels=3, **TINY, **TINY_MAP),
}


@pytest.mark.parametrize("kind", ["stylegan", "stylegan2"])
def test_mixing_switches_from_w1_to_w2_at_one_random_layer(kind):
  g = STYLE[kind]()
  v = g.init(RNGS, Z)
  w1 = g.apply(v, Z, method=g.mapping)
  num_ws = 2 * 4 - 2
  assert w1.shape == (4, num_ws, 6)
  cutoffs = set()
  for seed in range(8):
    ws = g.apply(v, Z, train=True, mixing_prob=1.0, method=g.styles,
                 rngs={"noise": jax.random.PRNGKey(seed)})
    from_w1 = np.all(np.isclose(ws, w1[:, :1]), axis=(0, 2))  # which layers hold w1
    c = int(np.sum(from_w1))
    assert 1 <= c <= num_ws - 1, from_w1
    assert from_w1[:c].all() and not from_w1[c:].any()  # w1 before the crossover, then not
    np.testing.assert_allclose(ws[:, c:], jnp.broadcast_to(ws[:, c:c + 1], ws[:, c:].shape))
    assert not np.allclose(ws[:, c], w1[:, 0], atol=1e-4)  # a different w after the crossover
    cutoffs.add(c)
  assert len(cutoffs) > 1  # the crossover is drawn, not fixed
  # No mixing at prob 0 and none by default in evaluation (no rng needed then).
  ws = g.apply(v, Z, train=True, mixing_prob=0.0, method=g.styles)
  np.testing.assert_allclose(ws, w1)
  np.testing.assert_allclose(g.apply(v, Z, train=False, method=g.styles), w1)
  # Mixing reaches the image.
  a = g.apply(v, Z, train=False, mixing_prob=1.0, noise_mode="const", rngs={"noise": KEY})
  b = g.apply(v, Z, train=False, noise_mode="const")
  assert not np.allclose(a, b)


@pytest.mark.parametrize("kind", ["stylegan", "stylegan2"])
def test_w_avg_updates_only_in_train_mode(kind):
  g = STYLE[kind]()
  v = g.init(RNGS, Z)
  np.testing.assert_array_equal(v["w_avg"]["w_avg"], 0.0)
  w = g.apply(v, Z, method=g.mapping)[:, 0]
  _, state = g.apply(v, Z, train=True, mutable=["w_avg"], rngs={"noise": KEY})
  np.testing.assert_allclose(state["w_avg"]["w_avg"], 0.005 * jnp.mean(w, axis=0), rtol=1e-5,
                             atol=1e-7)
  _, state = g.apply(v, Z, train=False, mutable=["w_avg"], rngs={"noise": KEY})
  np.testing.assert_array_equal(state["w_avg"]["w_avg"], 0.0)
  g.apply(v, Z, train=True, rngs={"noise": KEY})  # not mutable: no update, no error


@pytest.mark.parametrize("kind", ["stylegan", "stylegan2"])
def test_truncation_at_psi_0_gives_the_average_w_image(kind):
  g = STYLE[kind]()
  v = g.init(RNGS, Z)
  _, state = g.apply(v, Z, train=True, mutable=["w_avg"], rngs={"noise": KEY})
  v = {**v, **state}
  w_avg = v["w_avg"]["w_avg"]
  images = g.apply(v, Z, train=False, truncation_psi=0.0, truncation_cutoff=None,
                   noise_mode="const")
  np.testing.assert_allclose(images, jnp.broadcast_to(images[:1], images.shape), atol=1e-5)
  ws_avg = jnp.broadcast_to(w_avg, (1, 6, 6))
  np.testing.assert_allclose(images[:1], g.apply(v, ws_avg, noise_mode="const",
                                                 method=g.synthesis), rtol=1e-4, atol=1e-5)
  assert not np.allclose(g.apply(v, Z, train=False, noise_mode="const")[0], images[0])
  # The cutoff: layers < 2 truncated, the rest untouched.
  ws = g.apply(v, Z, truncation_psi=0.0, truncation_cutoff=2, method=g.mapping)
  np.testing.assert_allclose(ws[:, :2], jnp.broadcast_to(w_avg, (4, 2, 6)), atol=1e-6)
  np.testing.assert_allclose(ws[:, 2:], g.apply(v, Z, method=g.mapping)[:, 2:])
  half = g.apply(v, Z, truncation_psi=0.5, truncation_cutoff=None, method=g.mapping)
  np.testing.assert_allclose(half, 0.5 * (g.apply(v, Z, method=g.mapping) + w_avg), rtol=1e-5,
                             atol=1e-6)


@pytest.mark.parametrize("kind", ["stylegan", "stylegan2"])
def test_noise_comes_from_the_noise_stream(kind):
  g = STYLE[kind]()
  v = g.init(RNGS, Z)
  # Non-zero strengths everywhere, so every layer's noise shows.
  params = jax.tree_util.tree_map_with_path(
      lambda path, p: p + 0.5 if "strength" in jax.tree_util.keystr(path) else p, v["params"])
  v = {**v, "params": params}
  a = g.apply(v, Z, train=False, rngs={"noise": jax.random.PRNGKey(1)})
  b = g.apply(v, Z, train=False, rngs={"noise": jax.random.PRNGKey(1)})
  c = g.apply(v, Z, train=False, rngs={"noise": jax.random.PRNGKey(2)})
  np.testing.assert_array_equal(a, b)
  assert not np.allclose(a, c)
  n1 = g.apply(v, Z, train=False, noise_mode="none")
  n2 = g.apply({**v, "params": jax.tree_util.tree_map_with_path(
      lambda path, p: p * 0 if "strength" in jax.tree_util.keystr(path) else p, params)},
               Z, train=False, noise_mode="random", rngs={"noise": KEY})
  np.testing.assert_allclose(n1, n2, rtol=1e-5, atol=1e-6)
  assert "noise_const" in v


def test_stylegan2_shapes_and_gradients():
  g = StyleGAN2Generator(image_size=8, channels=3, **TINY, **TINY_MAP)
  d = StyleGAN2Discriminator(image_size=8, mbstd_group_size=2, **TINY)
  gv = g.init(RNGS, Z)
  dv = d.init(KEY, jnp.zeros((4, 8, 8, 3)))
  assert g.apply(gv, Z, rngs={"noise": KEY}).shape == (4, 8, 8, 3)
  assert d.apply(dv, jnp.zeros((4, 8, 8, 3))).shape == (4,)
  with pytest.raises(ValueError):
    g.apply(gv, Z, resolution=4, rngs={"noise": KEY})

  @jax.jit
  def loss(gp, dp):
    images, _ = g.apply({**gv, "params": gp}, Z, train=True, mutable=["w_avg"],
                        rngs={"noise": KEY})
    return jnp.mean(jax.nn.softplus(-d.apply({"params": dp}, images)))

  grads = jax.grad(loss, argnums=(0, 1))(gv["params"], dv["params"])
  leaves = jax.tree_util.tree_leaves(grads)
  assert all(bool(jnp.all(jnp.isfinite(x))) for x in leaves)
  assert float(jnp.abs(grads[0]["mapping_net"]["dense0"]["kernel"]).sum()) > 0


# ---------------------------------------------------------------------------------------------
# build() from a config, bf16 compute.


@pytest.mark.parametrize("arch", ["progan", "stylegan", "stylegan2"])
def test_build_from_config(arch):
  config = base_config()
  config.architecture = arch
  config.latent_dim = 5
  config.compute_dtype = "bfloat16"
  for section in (config.generator, config.discriminator):
    section.fmap_base = 64
    section.fmap_max = 8
    section.mbstd_group_size = 2
  if arch != "progan":
    config.generator.update(TINY_MAP)
  g, d = models.build(config, DataInfo("digits", "images", (8, 8, 1), 10))
  z = jnp.ones((2, 5))
  gv = g.init(RNGS, z, None)
  assert all(x.dtype == jnp.float32 for x in jax.tree_util.tree_leaves(gv["params"]))
  images = g.apply(gv, z, None, train=False, rngs={"noise": KEY})
  assert images.shape == (2, 8, 8, 1) and images.dtype == jnp.float32
  dv = d.init(KEY, images, None)
  logits = d.apply(dv, images, None, train=False)
  assert logits.shape == (2,) and bool(jnp.all(jnp.isfinite(logits)))
  config.conditional = True
  with pytest.raises(ValueError, match="unconditional"):
    models.build(config, DataInfo("digits", "images", (8, 8, 1), 10))


# ---------------------------------------------------------------------------------------------
# The official full-size models, counted abstractly.


def _counts(g, d, g_input, d_input):
  gv = jax.eval_shape(lambda: g.init(KEY, g_input))
  dv = jax.eval_shape(lambda: d.init(KEY, d_input))
  return count_params(gv["params"]), count_params(dv["params"]), gv


def test_full_size_parameter_counts():
  z = jnp.zeros((1, 512))
  # ProGAN 1024 (CelebA-HQ): the paper's table 2 says 23.1M for G and for D.
  g, d, _ = _counts(ProGANGenerator(image_size=1024, channels=3),
                    ProGANDiscriminator(image_size=1024), z, jnp.zeros((1, 4, 4, 3)))
  assert (g, d) == (23_079_115, 23_087_249)
  # StyleGAN 1024 (FFHQ): NVlabs/stylegan's README prints "Total 26219627" for Gs (26.2M in the
  # paper); D_basic has ProGAN's D parameters.
  g, d, gv = _counts(StyleGANGenerator(image_size=1024, channels=3),
                     StyleGANDiscriminator(image_size=1024), z, jnp.zeros((1, 4, 4, 3)))
  assert (g, d) == (26_219_627, 23_087_249)
  assert count_params(gv["params"]["mapping_net"]) == 8 * (512 * 512 + 512)
  # StyleGAN2 config F 1024: stylegan2-ada-pytorch's printed summary gives the synthesis network
  # 28,268,812 parameters and D "Total 29012513"; with config F's 8-layer mapping (2,101,248)
  # G has 30,370,060.
  g, d, gv = _counts(StyleGAN2Generator(image_size=1024, channels=3),
                     StyleGAN2Discriminator(image_size=1024), z, jnp.zeros((1, 1024, 1024, 3)))
  assert g - count_params(gv["params"]["mapping_net"]) == 28_268_812
  assert (g, d) == (30_370_060, 29_012_513)
