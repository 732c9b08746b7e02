// Field-by-field comparison of two run configurations: a run folder is only continued, skipped as done or put
// into a report beside new runs when everything that defines its computation is the same, and when it is not
// the user is told which fields differ. Generic over the fields, so a field added to the config later (loss
// form, data identity, padding, BN groups…) takes part without any change here.

/** A field that differs: dotted path, and its value on each side (undefined when absent). */
export interface ConfigDifference {
  path: string;
  before: unknown;
  now: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every leaf field whose value differs between `before` and `now`, objects compared key by key. */
export function configDifferences(before: unknown, now: unknown, path = ''): ConfigDifference[] {
  if (isRecord(before) && isRecord(now)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(now)])].sort();
    return keys.flatMap((key) => configDifferences(before[key], now[key], path ? `${path}.${key}` : key));
  }
  return JSON.stringify(before) === JSON.stringify(now) ? [] : [{ path, before, now }];
}

function show(value: unknown): string {
  if (value === undefined) return 'absent';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** The differences as one line: `model.batchNormGroups: absent in the folder, 2 now; …`. */
export function describeDifferences(differences: readonly ConfigDifference[]): string {
  return differences.map((d) => `${d.path}: ${show(d.before)} in the folder, ${show(d.now)} now`).join('; ');
}
