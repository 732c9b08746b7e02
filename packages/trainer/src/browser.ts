// @resnet/trainer, browser entry (the `browser` export condition, or `@resnet/trainer/browser`): the same
// training loop, optimiser, schedules and evaluation as the Node entry, importing nothing from `node:`. What
// needs Node stays there: run folders (metrics.jsonl, checkpoint files) and SIGINT/SIGTERM.
import { browserHost } from './browser-host.js';
import { createTrain } from './train.js';

export * from './portable.js';

/**
 * Trains `model` on `data` for `iterations` iterations, as the Node entry's `train` does, without a runDir
 * (keep metrics with `callbacks.onLog`) or signals (stop with `signal`, an AbortSignal).
 */
export const train = createTrain(browserHost);
