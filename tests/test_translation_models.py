"""Layers and models of pix2pix, CycleGAN and CoGAN; the history pool; the LR schedule.

PatchGAN receptive fields are computed and checked against the gradient support of one logit;
the U-Net's skips carry the input when the bottleneck is cut; CoGAN's shared layers are one set
of parameters that both branches' gradients reach.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxgan.models import cogan, cyclegan, pix2pix
from jaxgan.nn.instance_norm import InstanceNorm
from jaxgan.nn.padded_conv import Conv, ReflectConv, TransposedConv2x, reflect_pad
from jaxgan.train import phases, pieces
from jaxgan.train.image_pool import init_pool, query_pool
from jaxgan.train.state import learning_rate, make_optimizer
from jaxgan.config import optimizer_config


def _init(module, *args, **kwargs):
  """Variables of the module's shapes, filled on the host with N(0, 0.1) (normalisation scales
  and running variances 1, running means 0): compiling a module's random init costs more than
  everything these tests run."""
  rngs = {"params": jax.random.PRNGKey(0), "dropout": jax.random.PRNGKey(1)}
  shapes = jax.eval_shape(lambda: module.init(rngs, *args, **kwargs))
  rng = np.random.default_rng(0)

  def fill(path, leaf):
    name = jax.tree_util.keystr(path)
    if "'var'" in name or ("norm" in name.lower() and "'scale'" in name):
      return np.ones(leaf.shape, leaf.dtype)
    if "'mean'" in name:
      return np.zeros(leaf.shape, leaf.dtype)
    return rng.normal(0.0, 0.1, leaf.shape).astype(leaf.dtype)

  return jax.tree_util.tree_map_with_path(fill, shapes)


def _rand(shape, seed=0):
  return jax.random.normal(jax.random.PRNGKey(seed), shape)


# ---------------------------------------------------------------- layers


def test_instance_norm_normalises_each_image_and_channel():
  x = _rand((3, 5, 6, 4)) * 3 + 7
  y = InstanceNorm().apply({}, x)
  np.testing.assert_allclose(y.mean(axis=(1, 2)), 0, atol=1e-5)
  np.testing.assert_allclose(y.std(axis=(1, 2)), 1, atol=1e-3)
  # No batch coupling: an image's output does not depend on the others.
  np.testing.assert_allclose(InstanceNorm().apply({}, x[:1]), y[:1], atol=1e-6)
  assert InstanceNorm(affine=True).init(jax.random.PRNGKey(0), x)["params"]["scale"].shape == (4,)


@pytest.mark.parametrize("kernel,padding", [(3, (1, 2)), (4, (2, 2)), (4, (1, 3)), (5, (2, 3))])
def test_transposed_conv2x_equals_flax_conv_transpose(kernel, padding):
  x = _rand((2, 5, 6, 3))
  layer = TransposedConv2x(4, kernel, padding)
  variables = layer.init(jax.random.PRNGKey(1), x)
  reference = nn.ConvTranspose(4, (kernel, kernel), strides=(2, 2),
                               padding=(padding, padding)).apply(variables, x)
  np.testing.assert_allclose(layer.apply(variables, x), reference, atol=1e-5)
  assert reference.shape == (2, 10, 12, 4)


@pytest.mark.parametrize("shape,kernel,stride,padding", [
    ((2, 5, 6, 3), 3, 1, "SAME"), ((2, 4, 4, 3), 4, 2, ((1, 1), (1, 1))),
    ((2, 4, 4, 3), 4, 1, ((1, 1), (1, 1))), ((2, 20, 20, 3), 3, 2, "SAME"),
    ((2, 7, 7, 3), 4, 2, "SAME")])
def test_conv_equals_flax_conv_on_small_and_large_maps(shape, kernel, stride, padding):
  x = _rand(shape)
  layer = Conv(5, kernel, stride, padding)
  variables = layer.init(jax.random.PRNGKey(1), x)
  reference = nn.Conv(5, (kernel, kernel), strides=(stride, stride), padding=padding)
  np.testing.assert_allclose(layer.apply(variables, x), reference.apply(variables, x),
                             atol=1e-5)


def test_reflect_conv_pads_by_reflection():
  x = _rand((1, 6, 6, 2))
  padded = reflect_pad(x, 3)
  np.testing.assert_array_equal(padded[0, 3:9, 3:9], x[0])
  np.testing.assert_array_equal(padded[0, 2, 3:9], x[0, 1])  # mirrored, edge not repeated
  np.testing.assert_array_equal(padded[0, 0, 3:9], x[0, 3])
  layer = ReflectConv(4, 7)
  variables = layer.init(jax.random.PRNGKey(0), x)
  expected = nn.Conv(4, (7, 7), padding="VALID").apply(
      {"params": variables["params"]["conv"]}, padded)
  np.testing.assert_allclose(layer.apply(variables, x), expected, atol=1e-5)


# ---------------------------------------------------------------- PatchGAN


@pytest.mark.parametrize("field,strided", [(1, 0), (16, 1), (70, 3), (286, 5)])
def test_patchgan_receptive_field_computed(field, strided):
  assert pix2pix.strided_layers_for(field) == strided
  assert pix2pix.receptive_field(pix2pix.patch_layers(strided)) == field


@pytest.mark.parametrize("field,size", [(1, 8), (16, 40), (70, 96), (286, 300)])
def test_patchgan_receptive_field_measured(field, size):
  """The input pixels one central logit depends on form a field x field square."""
  d = pix2pix.PatchDiscriminator(receptive_field=field, base_features=1, max_multiplier=1,
                                 norm="none")
  x = _rand((1, size, size, 3))
  variables = _init(d, x, train=True)
  oh = ow = pix2pix.patch_output_size(size, field)
  i, j = oh // 2, ow // 2
  grad = jax.jit(jax.grad(lambda x: d.apply(variables, x, train=True)[0, i, j]))(x)
  rows, cols = np.nonzero(np.abs(np.asarray(grad[0])).sum(-1))
  assert rows.max() - rows.min() + 1 == field
  assert cols.max() - cols.min() + 1 == field
  assert rows.min() > 0 and rows.max() < size - 1  # the field lies inside, not cut by borders


@pytest.mark.parametrize("field,out", [(1, 256), (16, 126), (70, 30), (286, 6)])
def test_patchgan_shapes_at_256(field, out):
  d = pix2pix.PatchDiscriminator(receptive_field=field, base_features=1)
  x, cond = jnp.zeros((1, 256, 256, 3)), jnp.zeros((1, 256, 256, 1))
  shapes = jax.eval_shape(lambda: d.init_with_output(
      {"params": jax.random.PRNGKey(0)}, x, cond, train=True)[0])
  assert shapes.shape == (1, out, out)  # 70x70: the paper's 30x30 map of patch logits
  assert pix2pix.patch_output_size(256, field) == out


def test_patchgan_bad_field_and_small_images():
  with pytest.raises(ValueError, match="receptive field must be one of"):
    pix2pix.strided_layers_for(50)
  assert pix2pix.patch_output_size(16, 70) < 1


# ---------------------------------------------------------------- U-Net


def test_unet_shapes_and_skip_channels():
  g = pix2pix.UNetGenerator(out_channels=3, base_features=2, norm="batch")
  x = _rand((2, 16, 16, 1))
  variables = _init(g, x, train=True)
  out, _ = jax.jit(lambda v, x: g.apply(v, x, train=True, rngs={"dropout": jax.random.PRNGKey(2)},
                                        mutable=["batch_stats"]))(variables, x)
  assert out.shape == (2, 16, 16, 3) and float(jnp.abs(out).max()) <= 1.0
  params = variables["params"]
  assert sorted(k for k in params if k.startswith("down") and "norm" not in k) == [
      f"down{i}" for i in range(4)]  # 16 -> 1: four down-samplings
  assert "down0_norm" not in params and "down3_norm" not in params  # first and bottleneck
  # Every decoder layer but the bottleneck's reads its input concatenated with a skip.
  assert params["up3"]["kernel"].shape[2] == 2 * 8  # from the 1x1 bottleneck, no skip yet
  for i, features in [(2, 8), (1, 4), (0, 2)]:  # features[i] = 2 * 2^i
    assert params[f"up{i}"]["kernel"].shape[2] == 2 * features
  assert params["up0"]["kernel"].shape == (4, 4, 4, 3)


def test_unet_encoder_convs_are_bias_free_under_batch_norm():
  # The reference code builds every down-convolution without bias when the norm is batch norm,
  # the first one and the 1x1 bottleneck's (which have no norm) included; instance norm keeps
  # them all. unet_256's count is the reference's (pix2pix prints 54.414 M); the two extra
  # biases were 64 + 512 = 576 parameters more.
  x = jnp.zeros((1, 256, 256, 3))
  rngs = {"params": jax.random.PRNGKey(0), "dropout": jax.random.PRNGKey(1)}
  for norm, biased in (("batch", False), ("instance", True)):
    g = pix2pix.UNetGenerator(out_channels=3, norm=norm)
    params = jax.eval_shape(lambda: g.init(rngs, x))["params"]  # pylint: disable=cell-var-from-loop
    assert [("bias" in params[f"down{i}"]) for i in range(8)] == [biased] * 8, norm
    if norm == "batch":
      assert sum(int(np.prod(a.shape)) for a in jax.tree_util.tree_leaves(params)) == 54_413_955


@pytest.mark.parametrize("downs, paper, code", [(8, {0, 1, 2}, {1, 2, 3}),
                                                (7, {0, 1, 2}, {1, 2}), (5, {0, 1, 2}, set())])
def test_unet_dropout_layers_paper_or_code(downs, paper, code):
  # The paper: CD512 on the first three decoder layers; the reference code: on the
  # num_downs - 5 blocks next to the innermost one (not on the innermost's up-convolution).
  for which, expected in (("paper", paper), ("code", code)):
    g = pix2pix.UNetGenerator(out_channels=3, dropout_layers=which)
    assert {layer for layer in range(downs - 1) if g.has_dropout(layer, downs)} == expected
  assert not pix2pix.UNetGenerator(out_channels=3, dropout=0.0).has_dropout(0, downs)
  with pytest.raises(ValueError, match="dropout_layers"):
    pix2pix.UNetGenerator(out_channels=3, dropout_layers="three").has_dropout(0, downs)


def test_unet_skips_carry_the_input_past_a_cut_bottleneck():
  g = pix2pix.UNetGenerator(out_channels=1, base_features=2, norm="none", dropout=0.5)
  x1, x2 = _rand((1, 16, 16, 1), 1), _rand((1, 16, 16, 1), 2)
  variables = _init(g, x1, train=False)
  params = dict(variables["params"])
  bottleneck = f"down{g.depth(16) - 1}"
  params[bottleneck] = jax.tree_util.tree_map(jnp.zeros_like, params[bottleneck])
  cut = {"params": params}
  apply = jax.jit(lambda v, x, key: (g.apply(v, x, train=False),
                                     g.apply(v, x, train=True, rngs={"dropout": key})))
  (y1, noisy1), (y2, _) = apply(cut, x1, jax.random.PRNGKey(1)), apply(cut, x2,
                                                                        jax.random.PRNGKey(1))
  assert float(jnp.abs(y1 - y2).max()) > 1e-3  # still depends on the input: through the skips
  # The outermost skip is local: a change in one corner barely reaches the far corner.
  x3 = x1.at[0, :2, :2].add(1.0)
  diff = jnp.abs(apply(cut, x3, jax.random.PRNGKey(1))[0] - y1)[0, :, :, 0]
  assert float(diff[:4, :4].max()) > 10 * float(diff[12:, 12:].max())
  # Dropout is G's noise: on in training, off in inference.
  _, noisy2 = apply(cut, x1, jax.random.PRNGKey(2))
  assert float(jnp.abs(noisy1 - noisy2).max()) > 1e-5
  np.testing.assert_array_equal(apply(cut, x1, jax.random.PRNGKey(2))[0], y1)


# ---------------------------------------------------------------- CycleGAN's generator


@pytest.mark.parametrize("blocks", [6, 9])
def test_resnet_generator_structure(blocks):
  g = cyclegan.ResnetGenerator(out_channels=3, base_features=4, num_blocks=blocks)
  x = jnp.zeros((2, 16, 16, 1))
  variables = jax.eval_shape(lambda: g.init(jax.random.PRNGKey(0), x, train=True))
  assert "batch_stats" not in variables  # instance norm keeps no statistics
  params = variables["params"]
  assert sum(k.startswith("block") for k in params) == blocks
  assert params["stem"]["conv"]["kernel"].shape == (7, 7, 1, 4)  # reflection-padded 7x7
  assert params["down1"]["kernel"].shape == (3, 3, 8, 16)
  assert params["block0"]["ReflectConv_0"]["conv"]["kernel"].shape == (3, 3, 16, 16)
  assert params["up1"]["kernel"].shape == (3, 3, 8, 4)
  assert params["head"]["conv"]["kernel"].shape == (7, 7, 4, 3)


def test_resnet_generator_translates_each_image_alone():
  g = cyclegan.ResnetGenerator(out_channels=3, base_features=2, num_blocks=1)
  x = _rand((2, 8, 8, 1))
  variables = _init(g, x, train=True)
  apply = jax.jit(lambda v, x: g.apply(v, x, train=True))
  out = apply(variables, x)
  assert out.shape == (2, 8, 8, 3) and float(jnp.abs(out).max()) <= 1.0
  one = apply(variables, x[:1])
  np.testing.assert_allclose(one, out[:1], atol=1e-5)  # instance norm: no batch coupling


# ---------------------------------------------------------------- CoGAN's sharing


def _coupled(shared_g=2, shared_d=2, norm="none"):
  g = cogan.CoupledGenerator(16, (1, 1), base_features=4, shared_layers=shared_g, norm=norm)
  d = cogan.CoupledDiscriminator(16, base_features=4, shared_layers=shared_d, norm=norm)
  z = _rand((4, 8))
  x_a, x_b = _rand((4, 16, 16, 1), 1), _rand((4, 16, 16, 1), 2)
  return g, d, z, x_a, x_b, _init(g, z, train=True)["params"], _init(d, x_a, x_b, train=True)[
      "params"]


def _norm(tree):
  return float(sum(jnp.sum(jnp.abs(x)) for x in jax.tree_util.tree_leaves(tree)))


def test_cogan_generators_share_their_first_layers():
  g, _, z, _, _, params, _ = _coupled(shared_g=2)
  assert sorted(params) == ["a2", "b2", "shared0", "shared1"]  # one copy of each shared layer
  loss_a = lambda p: jnp.sum(g.apply({"params": p}, z, train=True)[0] ** 2)
  loss_b = lambda p: jnp.sum(g.apply({"params": p}, z, train=True)[1] ** 2)
  grad_a, grad_b, grad_both, (a, b) = jax.jit(lambda p: (
      jax.grad(loss_a)(p), jax.grad(loss_b)(p), jax.grad(lambda q: loss_a(q) + loss_b(q))(p),
      g.apply({"params": p}, z, train=True)))(params)
  for shared in ("shared0", "shared1"):
    assert _norm(grad_a[shared]) > 0 and _norm(grad_b[shared]) > 0  # both branches reach it
    jax.tree_util.tree_map(lambda s, x, y: np.testing.assert_allclose(s, x + y, rtol=1e-4,
                                                                      atol=1e-6),
                           grad_both[shared], grad_a[shared], grad_b[shared])
  assert _norm(grad_a["b2"]) == 0 and _norm(grad_b["a2"]) == 0  # own layers stay own
  assert a.shape == b.shape == (4, 16, 16, 1) and float(jnp.abs(a - b).max()) > 0


def test_cogan_discriminators_share_their_last_layers():
  _, d, _, x_a, x_b, _, params = _coupled(shared_d=2)
  assert sorted(params) == ["a0", "b0", "shared1", "shared2"]
  loss_a = lambda p: jnp.sum(d.apply({"params": p}, x_a, x_b, train=True)[0])
  loss_b = lambda p: jnp.sum(d.apply({"params": p}, x_a, x_b, train=True)[1])
  grad_a, grad_b = jax.jit(lambda p: (jax.grad(loss_a)(p), jax.grad(loss_b)(p)))(params)
  for shared in ("shared1", "shared2"):
    assert _norm(grad_a[shared]) > 0 and _norm(grad_b[shared]) > 0
  assert _norm(grad_a["b0"]) == 0 and _norm(grad_b["a0"]) == 0
  # Sharing by stacking the two batches gives each domain what it would get alone.
  apply = jax.jit(lambda a, b: d.apply({"params": params}, a, b, train=True))
  logits_a, _ = apply(x_a, x_b)
  again_a, _ = apply(x_a, x_b * 0 + 1)
  np.testing.assert_allclose(logits_a, again_a, atol=1e-5)


def test_cogan_no_sharing_is_two_gans_and_limits():
  g = cogan.CoupledGenerator(16, (1, 1), base_features=4, shared_layers=0)
  d = cogan.CoupledDiscriminator(16, base_features=4, shared_layers=0)
  x = jnp.zeros((2, 16, 16, 1))
  g_params = jax.eval_shape(lambda: g.init(jax.random.PRNGKey(0), jnp.zeros((2, 8))))["params"]
  d_params = jax.eval_shape(lambda: d.init(jax.random.PRNGKey(0), x, x))["params"]
  assert sorted(g_params) == ["a0", "a1", "a2", "b0", "b1", "b2"]
  assert sorted(d_params) == ["a0", "a1", "a2", "b0", "b1", "b2"]
  for shared, what in ((3, "G"), (-1, "D")):
    with pytest.raises(ValueError, match="can share 0 to 2"):
      cogan.check_shared(shared, 3, what)


# ---------------------------------------------------------------- history pool


def _images(n, start=0):
  """n distinct 2x2x1 images, image i filled with the value start + i."""
  return jnp.arange(start, start + n, dtype=jnp.float32)[:, None, None, None] * jnp.ones(
      (1, 2, 2, 1))


def _values(images):
  return [float(v) for v in np.asarray(images)[:, 0, 0, 0]]


def test_pool_fills_first_then_swaps_half():
  pool = init_pool(5, (2, 2, 1))
  pool, out = query_pool(pool, _images(3), jax.random.PRNGKey(0))
  assert _values(out) == [0, 1, 2] and int(pool.count) == 3  # filling: used as they are
  pool, out = query_pool(pool, _images(4, 3), jax.random.PRNGKey(1))
  # Slots 3 and 4 fill with images 3 and 4; images 5 and 6 meet a full pool.
  assert _values(out)[:2] == [3, 4] and int(pool.count) == 5
  query = jax.jit(query_pool)
  swapped = total = 0
  for step in range(60):
    before = set(_values(pool.images))
    new = _images(4, 100 + 4 * step)
    pool, out = query(pool, new, jax.random.PRNGKey(10 + step))
    after = set(_values(pool.images))
    seen = set(before)
    for value, fresh in zip(_values(out), _values(new)):
      total += 1
      if value != fresh:  # a stored image came out (the new one took its slot)
        swapped += 1
        assert value in seen
      seen.add(fresh)
    assert after <= seen and after - before <= set(_values(new))
    assert int(pool.count) == 5 and len(after) == 5
  assert 0.35 < swapped / total < 0.65  # about half


def test_pool_is_deterministic_and_size_zero_passes_through():
  pool = init_pool(3, (2, 2, 1))
  pool, _ = query_pool(pool, _images(3), jax.random.PRNGKey(0))
  one = query_pool(pool, _images(3, 10), jax.random.PRNGKey(5))
  two = query_pool(pool, _images(3, 10), jax.random.PRNGKey(5))
  np.testing.assert_array_equal(one[1], two[1])
  np.testing.assert_array_equal(one[0].images, two[0].images)
  empty = init_pool(0, (2, 2, 1))
  same, out = query_pool(empty, _images(2), jax.random.PRNGKey(0))
  np.testing.assert_array_equal(out, _images(2))
  assert same.images.shape == (0, 2, 2, 1)


# ---------------------------------------------------------------- LR schedule


def test_lr_constant_then_linear_to_zero():
  config = optimizer_config("adam", lr=2e-4, lr_decay="linear", decay_start=0.5)
  schedule = learning_rate(config, 100)
  for step, expected in [(0, 2e-4), (25, 2e-4), (49, 2e-4), (50, 2e-4), (75, 1e-4),
                         (99, 4e-6), (100, 0.0), (150, 0.0)]:
    assert float(schedule(step)) == pytest.approx(expected, rel=1e-5, abs=1e-12), step
  plain = learning_rate(optimizer_config("adam", lr=1e-3, lr_decay="linear"), 10)
  assert float(plain(0)) == pytest.approx(1e-3) and float(plain(5)) == pytest.approx(5e-4)
  assert learning_rate(optimizer_config("adam", lr=1e-3), 10) == 1e-3


def test_optimizer_follows_the_schedule():
  tx = make_optimizer(optimizer_config("sgd", lr=1.0, lr_decay="linear", decay_start=0.5), 8)
  params = {"w": jnp.zeros(())}
  state = tx.init(params)
  steps = []
  for _ in range(8):
    updates, state = tx.update({"w": jnp.ones(())}, state, params)
    steps.append(-float(updates["w"]))
  np.testing.assert_allclose(steps, [1, 1, 1, 1, 1, 0.75, 0.5, 0.25])


# ---------------------------------------------------------------- pieces


def test_accumulate_grads_with_outputs_matches_whole_batch():
  w = jnp.array(2.0)

  def loss_fn(w, aux, inputs):
    x, _ = inputs
    y = w * x
    return jnp.mean(y ** 2), (aux, {"m": jnp.mean(y)}, y)

  x = jnp.arange(8.0)
  whole = phases.accumulate_grads(loss_fn, w, {}, phases.micro_batches(x, jax.random.PRNGKey(0),
                                                                        1), 1)
  split = phases.accumulate_grads(loss_fn, w, {}, phases.micro_batches(x, jax.random.PRNGKey(0),
                                                                        4), 4)
  np.testing.assert_allclose(whole[0], split[0], rtol=1e-6)
  np.testing.assert_allclose(split[1][2], 2 * x)  # outputs back in batch order
  np.testing.assert_allclose(whole[1][1]["m"], split[1][1]["m"])


def test_random_jitter_same_window_for_input_and_target():
  x = _rand((6, 8, 8, 1))
  y = jnp.concatenate([x, -x], axis=-1)
  jx, jy = pieces.random_jitter(jax.random.PRNGKey(0), [x, y], 11, True)
  assert jx.shape == x.shape and jy.shape == y.shape
  np.testing.assert_allclose(jy[..., :1], jx, atol=1e-5)  # the same crop and flip
  assert float(jnp.abs(jx - jnp.clip(x, -1, 1)).max()) > 0.1  # but jittered
  flipped = pieces.random_jitter(jax.random.PRNGKey(3), [x], 0, True)[0]
  for image, out in zip(np.asarray(x), np.asarray(flipped)):
    assert np.array_equal(out, image) or np.array_equal(out, image[:, ::-1])


def test_build_errors_name_the_problem():
  config = ml_collections.ConfigDict(dict(
      compute_dtype="float32",
      generator=dict(base_features=4, max_multiplier=8, num_downs=0, norm="batch", dropout=0.5,
                     dropout_layers="paper", num_blocks=6),
      discriminator=dict(receptive_field=70, base_features=4, max_multiplier=8, norm="batch")))
  from jaxgan.data.base import DataInfo
  info = DataInfo("x", "images", (16, 16, 1), pairing="paired", shape_b=(16, 16, 3))
  with pytest.raises(ValueError, match="70x70 PatchGAN needs images larger than 16x16"):
    pix2pix.build(config, info)
  with pytest.raises(ValueError, match="divisible by 4"):
    cyclegan.build(config, DataInfo("x", "images", (18, 18, 1), shape_b=(18, 18, 1)))


def test_batched_pads_to_few_shapes():
  seen = []

  def fn(x, i):
    seen.append(x.shape[0])
    return x * 2, x.sum(axis=1)

  x = np.arange(22 * 3, dtype=np.float32).reshape(22, 3)
  doubled, sums = pieces.batched(fn, (x,), 8)
  np.testing.assert_array_equal(doubled, 2 * x)
  np.testing.assert_array_equal(sums, x.sum(axis=1))
  assert seen == [8, 8, 8]  # the last 6 padded to 8
  seen.clear()
  pieces.batched(fn, (x[:3],), 8)
  assert seen == [4]
  seen.clear()
  pieces.batched(fn, (x[:3],), 8, pad=False)
  assert seen == [3]
