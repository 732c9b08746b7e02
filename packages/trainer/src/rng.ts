// The trainer's own seeded random stream (seedrandom's Alea, whose whole state can be saved in a checkpoint)
// and the window during which it stands in for Math.random.
import seedrandom from 'seedrandom';

/** The saved state of a {@link TrainerRng}. */
export interface RngState {
  seed: number;
  alea: seedrandom.State.Alea;
}

/**
 * Random numbers the trainer owns. TensorFlow.js random ops called without a seed (tf.dropout, so the Dropout
 * layer and any dropout shortcut built without one) seed themselves from Math.random; the trainer runs each
 * training step with Math.random answered by this stream, so those ops repeat with the run's seed and resume
 * where they stopped. Weight initialisation (done when the model is built) and data order and augmentation
 * (the batch source's) are seeded by their owners.
 */
export class TrainerRng {
  readonly seed: number;
  private prng: seedrandom.StatefulPRNG<seedrandom.State.Alea>;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
    this.seed = seed;
    this.prng = seedrandom.alea(String(seed), { state: true });
  }

  /** A number in [0, 1). */
  next(): number {
    return this.prng();
  }

  getState(): RngState {
    return { seed: this.seed, alea: this.prng.state() };
  }

  setState(state: RngState): void {
    this.prng = seedrandom.alea('', { state: state.alea });
  }

  /**
   * Runs `fn` (synchronous, so no other code can observe the swap) with Math.random drawing from this stream,
   * and puts the original back afterwards, even if `fn` throws.
   */
  withMathRandom<T>(fn: () => T): T {
    const original = Math.random;
    Math.random = () => this.prng();
    try {
      return fn();
    } finally {
      Math.random = original;
    }
  }
}

/** A seed for a run that was given none (recorded in the metrics and checkpoints so the run can be repeated). */
export function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
