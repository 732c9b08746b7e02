// Installs and restores the override table (./table.ts): apply(config) makes every entry match the
// configuration (ours where it applies, the stock piece where it does not), restore() puts every stock piece
// back. Both read each slot as it is now, so the order in which tfjs packages were imported or entries were
// applied does not matter: calling apply() again after importing tfjs-backend-wasm re-installs what that
// import overwrote.
import {
  activeConfig,
  type BackendConfig,
  defaultConfig,
  setActiveConfig,
  stockConfig,
} from '../runtime/config.js';
import { runtime } from '../runtime/platform.js';
import { saveStock, stockPiece } from './stock.js';
import { type Override, overrides } from './table.js';

/** The fields of a {@link BackendConfig} to change; the others keep their value. */
export type ConfigChanges = Partial<BackendConfig>;

let applied = false;

/** Makes one entry match `config`; returns whether ours is now in place. */
function settle(entry: Override, config: BackendConfig): boolean {
  const { slot } = entry;
  if (!slot.available()) return false;
  // The stock piece is saved before anything of ours is written into the slot.
  saveStock(slot.key, slot.read);
  const wanted = entry.applies(config) ? entry.ours(config) : stockPiece(slot.key);
  if (!slot.same(slot.read(), wanted)) slot.write(wanted);
  return wanted !== undefined && wanted !== stockPiece(slot.key);
}

/**
 * Makes `changes` (merged into the configuration in effect, or into the defaults on the first call) the
 * configuration, and installs or restores every entry of the table to match it. With `loadWasm`, loads
 * @tensorflow/tfjs-backend-wasm first so that its entries can be installed. Returns the configuration.
 */
export function apply(changes: ConfigChanges = {}, options: { loadWasm?: boolean } = {}): BackendConfig {
  const base = applied ? activeConfig() : defaultConfig();
  const config = setActiveConfig({ ...base, ...changes });
  applied = true;
  // Node.js requires it here; in a browser the caller has imported it (a bundle cannot load it synchronously).
  if (options.loadWasm) runtime().loadWasm();
  for (const entry of overrides) settle(entry, config);
  return config;
}

/**
 * Puts every stock piece back that a configuration switch governs: apply() of the all-off configuration. The
 * wasm kernels installed whatever the configuration (the table's 'always' rows: without them the wasm
 * backend cannot train) stay, as does the wasm backend factory once that backend has started.
 */
export function restore(): void {
  const config = setActiveConfig(stockConfig);
  applied = false;
  for (const entry of overrides) settle(entry, config);
}

/** One row of {@link describeOverrides}: an entry, and whether it is installed now. */
export interface OverrideRow {
  target: string;
  kind: Override['kind'];
  backend: Override['backend'];
  when: string;
  why: string;
  /** Ours is in place now. */
  installed: boolean;
}

/** The table, with what is installed now: "what does this package change in TensorFlow.js, and why". */
export function describeOverrides(): OverrideRow[] {
  const config = activeConfig();
  return overrides.map((entry) => {
    const { slot } = entry;
    const ours = entry.applies(config) ? entry.ours(config) : undefined;
    const installed =
      slot.available() || entry.kind === 'backend'
        ? ours !== undefined && slot.same(slot.read(), ours) && ours !== stockPiece(slot.key)
        : false;
    return {
      target: entry.target,
      kind: entry.kind,
      backend: entry.backend,
      when: entry.when,
      why: entry.why,
      installed,
    };
  });
}
