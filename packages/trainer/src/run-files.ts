// File names inside a runDir.

export const RUN_FILES = {
  metrics: 'metrics.jsonl',
  checkpoint: 'checkpoint.ckpt',
  /** The checkpoint before `checkpoint`, kept so that a damaged latest one does not mean starting over. */
  previous: 'checkpoint.prev.ckpt',
  final: 'final.ckpt',
} as const;
