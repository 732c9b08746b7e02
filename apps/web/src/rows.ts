// The rows the page can compare: the presets of @resnet/models for Table 1 (shortcut variants) and Table 2's
// ResNet-110 rows (activation orders), all of the basic unit, so one depth (6n + 2) fits every row chosen.
// The page trains them at the depth the user picks, as the bench's reduced scales do.
import { getPreset, listPresets, type Preset } from '@resnet/models';

export interface RowChoice {
  preset: string;
  /** 'Table 1' or 'Table 2'. */
  table: string;
  /** The row as the paper names it (the preset's description after its table and network). */
  label: string;
}

/** Table 1's and Table 2's basic-unit rows, in the tables' order. */
export function rowChoices(): RowChoice[] {
  return listPresets()
    .map((name) => getPreset(name))
    .filter((preset) => /^t[12]-/.test(preset.name) && preset.config.unit === 'basic')
    .map((preset: Preset) => ({
      preset: preset.name,
      table: preset.name.startsWith('t1-') ? 'Table 1' : 'Table 2',
      label: preset.description.replace(/^[^:]*:\s*/, ''),
    }));
}

/** The comparisons the page offers in one click (the two). */
export const COMPARISONS: ReadonlyArray<{ title: string; rows: readonly string[] }> = [
  { title: 'Table 2: original vs full pre-activation unit', rows: ['t2-original-110', 't2-full-preact-110'] },
  { title: 'Table 1: identity vs λ = 0.5 shortcut', rows: ['t1-original', 't1-scale-0.5-1'] },
];

/** Depths of the basic unit (6n + 2) the page offers: n = 1 … 18 (ResNet-110). */
export const DEPTHS: readonly number[] = [8, 14, 20, 32, 44, 56, 110];
