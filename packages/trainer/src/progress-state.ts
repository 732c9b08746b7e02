// The progress display's inputs, shared by the Node display (progress.ts) and the browser host.

/** How progress is shown. `'auto'`: a bar when the stream is a terminal, lines otherwise. */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

/** What the reporter is told after each step. */
export interface ProgressState {
  iteration: number;
  lr: number;
  /** Running mean loss and error (0–1) of the current interval. */
  loss: number;
  error: number;
  imagesPerSecond: number;
  testError?: number;
}
