"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

The same random, differentiable transformations are applied to every image D sees, real and
generated, in D's update and in G's loss, so D cannot memorise a small training set while G still
receives gradients through the augmentation. The policies are the paper's:

  color        brightness (add U(-0.5, 0.5)), saturation (scale the deviation from the
               per-pixel channel mean by U(0, 2)), contrast (scale the deviation from the
               per-image mean by U(0.5, 1.5)); one draw per example each
  translation  shift by an integer offset in [-s, s] per axis, s = round(size / 8), zero fill
  cutout       zero a square of side round(size / 2) centred at a random position (clipped at
               the borders)

Images are NHWC in [-1, 1] ("zero" is mid-grey there, as in the reference code, which also works
on [-1, 1] images). Saturation is the identity on 1-channel images.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _uniform(key, images, low, high):
  """One scalar per example, broadcastable against NHWC images."""
  return jax.random.uniform(key, (images.shape[0], 1, 1, 1), images.dtype, low, high)


def brightness(images, key):
  return images + _uniform(key, images, -0.5, 0.5)


def saturation(images, key):
  mean = jnp.mean(images, axis=3, keepdims=True)
  return (images - mean) * _uniform(key, images, 0.0, 2.0) + mean


def contrast(images, key):
  mean = jnp.mean(images, axis=(1, 2, 3), keepdims=True)
  return (images - mean) * _uniform(key, images, 0.5, 1.5) + mean


def _round_half_up(x: float) -> int:
  return int(x + 0.5)  # the reference's int(size * ratio + 0.5)


def translation_offsets(key, images, ratio=TRANSLATION_RATIO):
  """(N, 2) integer offsets (rows, columns), each in [-s, s]."""
  shift_h = _round_half_up(images.shape[1] * ratio)
  shift_w = _round_half_up(images.shape[2] * ratio)
  h_key, w_key = jax.random.split(key)
  n = images.shape[0]
  return jnp.stack([jax.random.randint(h_key, (n,), -shift_h, shift_h + 1),
                    jax.random.randint(w_key, (n,), -shift_w, shift_w + 1)], axis=1)


def translate(images, offsets):
  """out[n, i, j] = images[n, i + dy, j + dx] where that lies inside the image, else 0.

  Content moves by (-dy, -dx), as in the reference. A slice of the zero-padded image, so the
  gradient reaches every pixel that stays in view.
  """
  _, h, w, _ = images.shape
  pad_h, pad_w = h, w  # enough for any offset, so the slice never clamps
  padded = jnp.pad(images, ((0, 0), (pad_h, pad_h), (pad_w, pad_w), (0, 0)))

  def one(image, offset):
    return jax.lax.dynamic_slice(image, (pad_h + offset[0], pad_w + offset[1], 0),
                                 (h, w, image.shape[-1]))

  return jax.vmap(one)(padded, offsets)


def translation(images, key):
  return translate(images, translation_offsets(key, images))


def cutout_centres(key, images, ratio=CUTOUT_RATIO):
  """(N, 2) integer centres (rows, columns) of the cut squares, as the reference draws them:
  in [0, size - (side mod 2)]."""
  side_h = _round_half_up(images.shape[1] * ratio)
  side_w = _round_half_up(images.shape[2] * ratio)
  h_key, w_key = jax.random.split(key)
  n = images.shape[0]
  return jnp.stack([jax.random.randint(h_key, (n,), 0, images.shape[1] + 1 - side_h % 2),
                    jax.random.randint(w_key, (n,), 0, images.shape[2] + 1 - side_w % 2)],
                   axis=1)


def cutout_mask(shape, centres, ratio=CUTOUT_RATIO):
  """(N, H, W, 1) mask: 0 on rows [c - side//2, c - side//2 + side) (likewise columns), else 1."""
  _, h, w, _ = shape
  side_h, side_w = _round_half_up(h * ratio), _round_half_up(w * ratio)
  top = centres[:, 0, None] - side_h // 2
  left = centres[:, 1, None] - side_w // 2
  rows, cols = jnp.arange(h)[None], jnp.arange(w)[None]
  in_rows = (rows >= top) & (rows < top + side_h)  # (N, H)
  in_cols = (cols >= left) & (cols < left + side_w)  # (N, W)
  inside = in_rows[:, :, None] & in_cols[:, None, :]
  return (~inside).astype(jnp.float32)[..., None]


def cutout(images, key):
  mask = cutout_mask(images.shape, cutout_centres(key, images))
  return images * mask.astype(images.dtype)


POLICIES = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}


def parse_policy(policy: str) -> tuple[str, ...]:
  """'color,translation' -> ('color', 'translation'); '' -> (). ValueError on unknown names."""
  names = tuple(p.strip() for p in policy.split(",") if p.strip())
  unknown = [p for p in names if p not in POLICIES]
  if unknown:
    raise ValueError(f"unknown DiffAugment policy {unknown[0]!r} in {policy!r}; expected a "
                     f"comma-separated list of {sorted(POLICIES)}")
  return names


def diff_augment(images, key, policy: str):
  """Applies the policy's transformations in order, each with its own key from `key`.

  Pure and jittable (the policy is a static string); per-example random parameters;
  differentiable with respect to `images`. An empty policy returns the images unchanged.
  """
  ops = [op for name in parse_policy(policy) for op in POLICIES[name]]
  if not ops:
    return images
  for op, op_key in zip(ops, jax.random.split(key, len(ops))):
    images = op(images, op_key)
  return images
