// SGD with momentum and weight decay in the form of Torch's optim.sgd as fb.resnet.torch (the authors' code)
// uses it. Written here rather than taken from tf.train.momentum because that optimiser has no weight decay
// and keeps its velocity private, and a checkpoint must save and restore the velocity exactly.
import * as tf from '@tensorflow/tfjs-core';
import type { LayerVariable } from '@tensorflow/tfjs-layers';

/** Options of the optimiser; the defaults are the paper's. */
export interface SgdOptions {
  /** μ. Default 0.9. */
  momentum?: number;
  /** Nesterov momentum (the authors' ResNet-1001 Torch re-run used it). Default false. */
  nesterov?: boolean;
  /** λ. Default 1e-4. */
  weightDecay?: number;
  /**
   * Which trainable weights get weight decay. Default: every trainable weight, BN γ/β and biases included,
   * as in the authors' code (fb.resnet.torch passes all parameters to optim.sgd with one weightDecay).
   */
  decay?: (weight: LayerVariable) => boolean;
  /**
   * Weights left out of weight decay, as regular expressions (source strings, so that they can be recorded
   * in a run's configuration) matched against each weight's `originalName`, e.g.
   * `['_shortcut_gate/bias$']` for the gate bias b_g of @resnet/shortcuts' gating shortcuts. Applied on top
   * of `decay`. Default none.
   */
  noDecay?: readonly string[];
}

/**
 * One update, for each trainable weight w with gradient g (zero where the loss does not reach w):
 *
 *   g' = g + λ·w            (λ = weightDecay, or 0 where `decay(w)` is false)
 *   v  = μ·v + g'           (v starts at 0, so the first step gives v = g', as Torch's first step does)
 *   d  = nesterov ? g' + μ·v : v
 *   w  = w − lr·d
 *
 * The learning rate multiplies the velocity when it is applied, not when it is accumulated, so a change of
 * the rate takes effect at once (Torch's form; tf.train.momentum's differs).
 */
export class MomentumSgd {
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  /** The `noDecay` patterns given (empty when none). */
  readonly noDecay: readonly string[];
  readonly weights: readonly LayerVariable[];
  private readonly decayed: boolean[];
  private readonly velocity: tf.Variable[];

  constructor(weights: readonly LayerVariable[], options: SgdOptions = {}) {
    this.momentum = options.momentum ?? 0.9;
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = options.weightDecay ?? 1e-4;
    for (const [name, value] of [
      ['momentum', this.momentum],
      ['weightDecay', this.weightDecay],
    ] as const) {
      if (!Number.isFinite(value) || value < 0) {
        throw new Error(`optimizer.${name} must be a finite number ≥ 0, got ${value}`);
      }
    }
    if (this.nesterov && this.momentum === 0) {
      throw new Error('optimizer.nesterov needs a momentum > 0');
    }
    this.weights = weights;
    const decay = options.decay ?? (() => true);
    this.noDecay = [...(options.noDecay ?? [])];
    const excluded = this.noDecay.map((source) => {
      try {
        return new RegExp(source);
      } catch (error) {
        throw new Error(
          `optimizer.noDecay: '${source}' is not a regular expression (${(error as Error).message})`,
        );
      }
    });
    this.decayed = weights.map((w) => decay(w) && !excluded.some((re) => re.test(w.originalName)));
    // tidy frees the zeros each variable is made from; variables themselves outlive it.
    this.velocity = tf.tidy(() =>
      weights.map((w) => tf.variable(tf.zeros(w.shape as number[], 'float32'), false)),
    );
  }

  /** Whether each weight (in the order of `weights`) gets weight decay. */
  get decayMask(): readonly boolean[] {
    return this.decayed;
  }

  /** Applies one update with learning rate `lr`; `grads` is keyed by the weights' variable names. */
  apply(grads: tf.NamedTensorMap, lr: number): void {
    tf.tidy(() => {
      const rate = tf.scalar(lr);
      const mu = tf.scalar(this.momentum);
      const lambda = tf.scalar(this.weightDecay);
      this.weights.forEach((weight, i) => {
        const variable = weight.read() as tf.Variable;
        const velocity = this.velocity[i]!;
        const g = grads[variable.name] ?? tf.zerosLike(variable);
        const decayed = this.decayed[i] && this.weightDecay > 0 ? tf.add(g, tf.mul(lambda, variable)) : g;
        const v = tf.add(tf.mul(mu, velocity), decayed);
        velocity.assign(v);
        const direction = this.nesterov ? tf.add(decayed, tf.mul(mu, v)) : v;
        let next = tf.sub(variable, tf.mul(rate, direction));
        if (weight.constraint) next = weight.constraint.apply(next);
        variable.assign(next);
      });
    });
  }

  /** The velocity of each weight, in the order of `weights` (live variables; do not dispose). */
  getVelocity(): readonly tf.Variable[] {
    return this.velocity;
  }

  /** Replaces the velocity with saved values (copied; shapes must match `weights`). */
  setVelocity(values: readonly tf.Tensor[]): void {
    if (values.length !== this.velocity.length) {
      throw new Error(`expected ${this.velocity.length} velocity tensors, got ${values.length}`);
    }
    values.forEach((value, i) => {
      const v = this.velocity[i]!;
      if (!tf.util.arraysEqual(value.shape, v.shape)) {
        throw new Error(
          `velocity of ${this.weights[i]!.originalName} has shape [${value.shape}], expected [${v.shape}]`,
        );
      }
      if (value.dtype !== 'float32') {
        throw new Error(`velocity of ${this.weights[i]!.originalName} must be float32, got ${value.dtype}`);
      }
      v.assign(value);
    });
  }

  /** Frees the velocity. */
  dispose(): void {
    for (const v of this.velocity) v.dispose();
  }
}
