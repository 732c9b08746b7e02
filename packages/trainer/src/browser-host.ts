// The training loop's host in a browser (or any runtime without Node's APIs): no run folder (`runDir` is
// refused: keep metrics with `callbacks.onLog`), no signals (stop with an AbortSignal), and progress only
// through callbacks.
import type { TrainerHost } from './host.js';

const silent = {
  start() {},
  advance() {},
  step() {},
  record() {},
  message() {},
  stop() {},
};

export const browserHost: TrainerHost = {
  progress: () => silent,
};
