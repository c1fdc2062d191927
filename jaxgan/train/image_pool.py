"""The history pool of generated images (Shrivastava et al. 2017), as CycleGAN uses it.

The discriminators are updated on a mix of the newest fakes and older ones, which damps the
oscillation of G and D chasing each other. A pool holds up to `size` images (50 in CycleGAN);
each generated image, in batch order, is
  - while the pool is not full: stored, and used as it is;
  - after that: with probability 1/2 swapped for a random stored image (the stored one is used,
    the new one takes its slot), else used as it is.
The pool is a pytree (images and fill count) that lives in the train state, so checkpoints carry
it and a resumed run draws the same images; it is updated by a pure function of a key.
"""

from __future__ import annotations

import flax.struct
import jax
import jax.numpy as jnp


@flax.struct.dataclass
class ImagePool:
  images: jax.Array  # (size, H, W, C) float32; slots >= count are unused
  count: jax.Array  # int32 scalar: filled slots

  @property
  def size(self) -> int:
    return self.images.shape[0]


def init_pool(size: int, image_shape) -> ImagePool:
  return ImagePool(jnp.zeros((size,) + tuple(image_shape), jnp.float32),
                   jnp.zeros((), jnp.int32))


def query_pool(pool: ImagePool, images: jax.Array, key) -> tuple[ImagePool, jax.Array]:
  """(updated pool, images for the discriminator) for a batch of new fakes (B, H, W, C).

  A pool of size 0 returns the images unchanged. The batch is walked image by image (a scan
  without convolutions, cheap on every backend), so later images of a batch can draw earlier
  ones, exactly like the reference implementation's loop.
  """
  images = jax.lax.stop_gradient(images).astype(jnp.float32)
  if pool.size == 0:
    return pool, images
  size = pool.size

  def one(carry, inputs):
    stored, count = carry
    image, image_key = inputs
    coin_key, slot_key = jax.random.split(image_key)
    filling = count < size
    swap = jnp.logical_and(jnp.logical_not(filling), jax.random.uniform(coin_key) < 0.5)
    slot = jnp.where(filling, count, jax.random.randint(slot_key, (), 0, size))
    old = stored[slot]
    out = jnp.where(swap, old, image)
    stored = stored.at[slot].set(jnp.where(jnp.logical_or(filling, swap), image, old))
    return (stored, count + filling.astype(jnp.int32)), out

  keys = jax.random.split(key, images.shape[0])
  (stored, count), out = jax.lax.scan(one, (pool.images, pool.count), (images, keys))
  return ImagePool(stored, count), out
