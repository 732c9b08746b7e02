// The trainer's own seeded random stream (seedrandom's Alea, whose whole state can be saved in a checkpoint)
// and the window during which it stands in for Math.random.
import seedrandom from 'seedrandom';

/**
 * The state of seedrandom's `alea` generator, spelled out here so that the published types do not depend on
 * which `@types/seedrandom` a consumer has (tfjs-core brings 2.x, which has no `State.Alea`).
 */
export interface AleaState {
  c: number;
  s0: number;
  s1: number;
  s2: number;
}

/** An alea generator whose state can be read back. */
interface StatefulAlea {
  (): number;
  state(): AleaState;
}

/** seedrandom's `alea`, seeded by `seed` or restored from `state`. */
function alea(seed: string, state?: AleaState): StatefulAlea {
  return seedrandom.alea(seed, { state: state ? { ...state } : true }) as unknown as StatefulAlea;
}

/** The saved state of a {@link TrainerRng}. */
export interface RngState {
  seed: number;
  alea: AleaState;
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
  private prng: StatefulAlea;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
    this.seed = seed;
    this.prng = alea(String(seed));
  }

  /** A number in [0, 1). */
  next(): number {
    return this.prng();
  }

  getState(): RngState {
    return { seed: this.seed, alea: this.prng.state() };
  }

  setState(state: RngState): void {
    this.prng = alea('', state.alea);
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
