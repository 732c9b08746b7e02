// One small registry of named entries (shortcuts here, Residual Units in @resnet/units): register, replace
// (only when asked), remove, list, and resolve a name or pass an entry through. It lives in the lowest
// package of the chain shortcuts → units → models, so units imports it from this package's public entry.

/** Options of {@link Registry.register}. */
export interface RegisterOptions {
  /**
   * Replace an entry already registered under the name (hot reload, a test that registers again) instead
   * of failing. Off by default, so two packages cannot silently take the same name.
   */
  replace?: boolean;
}

/** A registry of named entries of one kind. */
export interface Registry<T> {
  /** What the entries are, in messages: `shortcut`, `unit`. */
  readonly kind: string;
  /** Adds `entry` under `name`; fails if the name is taken, unless `options.replace`. */
  register(name: string, entry: T, options?: RegisterOptions): void;
  /** Removes the entry under `name`; returns whether there was one. */
  unregister(name: string): boolean;
  /** Whether `name` is registered. */
  has(name: string): boolean;
  /** Names of the entries, in registration order. */
  list(): string[];
  /** The entry under a name, or the entry itself when given one; an unknown name fails with the list. */
  resolve(nameOrEntry: string | T): T;
}

/**
 * Creates a registry. `check` validates an entry (a name's entry at registration, a passed-through entry at
 * resolution) and throws with `where` in its message when the entry is not one.
 */
export function createRegistry<T>(
  kind: string,
  check: (entry: unknown, where: string) => asserts entry is T,
): Registry<T> {
  const entries = new Map<string, T>();
  const registerName = `register${kind[0]!.toUpperCase()}${kind.slice(1)}`;
  const list = () => [...entries.keys()];
  return {
    kind,
    register(name, entry, options = {}) {
      if (typeof name !== 'string' || name.length === 0)
        throw new Error(`${registerName}: name must be a non-empty string, got ${String(name)}`);
      check(entry, `${registerName}('${name}')`);
      if (entries.has(name) && !options.replace) {
        throw new Error(
          `${registerName}: '${name}' is already registered; pick another name, or pass { replace: true } ` +
            'to replace it',
        );
      }
      entries.set(name, entry);
    },
    unregister: (name) => entries.delete(name),
    has: (name) => entries.has(name),
    list,
    resolve(nameOrEntry) {
      if (typeof nameOrEntry !== 'string') {
        check(nameOrEntry, `resolve${registerName.slice('register'.length)}`);
        return nameOrEntry;
      }
      const entry = entries.get(nameOrEntry);
      if (entry === undefined) {
        throw new Error(`unknown ${kind} '${nameOrEntry}'; registered ${kind}s: ${list().join(', ')}`);
      }
      return entry;
    },
  };
}
