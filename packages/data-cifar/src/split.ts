// The validation split: a seeded random subset of the training images held out, both parts keeping the
// files' order.
import seedrandom from 'seedrandom';
import { PIXELS } from './datasets.js';
import type { CifarSplit } from './parse.js';

/** Splits `split` into (rest, held out) with `size` images chosen at random; both keep the files' order. */
export function holdOut(
  split: CifarSplit,
  size: number,
  seed: number,
): { rest: CifarSplit; held: CifarSplit } {
  if (!Number.isInteger(size) || size <= 0 || size >= split.size) {
    throw new Error(`validation size must be a whole number between 1 and ${split.size - 1}; got ${size}`);
  }
  const rng = seedrandom.alea(`validation:${seed}`);
  const order = Int32Array.from({ length: split.size }, (_, i) => i);
  for (let i = split.size - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const heldMask = new Uint8Array(split.size);
  for (let i = 0; i < size; i++) heldMask[order[i]!] = 1;
  const take = (want: number, count: number): CifarSplit => {
    const images = new Uint8Array(count * PIXELS);
    const labels = new Uint8Array(count);
    let k = 0;
    for (let i = 0; i < split.size; i++) {
      if (heldMask[i] !== want) continue;
      images.set(split.images.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS);
      labels[k++] = split.labels[i]!;
    }
    return { images, labels, size: count };
  };
  return { rest: take(0, split.size - size), held: take(1, size) };
}
