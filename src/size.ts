/**
 * What a size means, in one place (like src/duration.ts for durations): `5MB`, `512KiB`, `1.5GB`.
 * KB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024, B is bytes. A unit is required: a bare
 * number could mean bytes or megabytes, so it is refused with a hint.
 */
import * as Flags from '@oclif/core/flags';
import type { Interfaces } from '@oclif/core';
import { InsightError } from './errors.js';
import { shownValue } from './input.js';

const UNIT: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

export interface SizeBounds {
  min: number;
  max: number;
}

/** `20MB` → 20000000; `flag` names the flag in errors. */
export function parseSize(value: string, flag: string, bounds: SizeBounds): number {
  const t = value.trim();
  const usage = (message: string, hint: string) => new InsightError('usage', message, { hint });
  if (/^\d+(\.\d+)?$/.test(t) && t.length <= 16) throw usage(`${flag} ${t}: a size needs a unit`, `Write ${t}MB (or ${t}KiB, ${t}B).`);
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]+)$/.exec(t);
  const unit = m ? UNIT[m[2]!.toLowerCase()] : undefined;
  if (!m || !unit) throw usage(`${flag} ${shownValue(value)} is not a size`, 'Use a number with a unit: 512KiB, 5MB, 1GiB.');
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes < bounds.min) throw usage(`${flag} ${t} is too small`, `Give at least ${formatSize(bounds.min)}.`);
  if (bytes > bounds.max) throw usage(`${flag} ${t} is too large`, `Give at most ${formatSize(bounds.max)}.`);
  return bytes;
}

/** 20000000 → `20MB`, 262144 → `256KiB`, 1234567 → `1.2MB`: for messages, in the unit it divides evenly. */
export function formatSize(n: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) if (n >= size && n % size === 0) return `${n / size}${unit}`;
  for (const [unit, size] of [['GB', 1e9], ['MB', 1e6], ['KB', 1e3]] as const) if (n >= size) return `${Number((n / size).toFixed(1))}${unit}`;
  return `${n}B`;
}

/** A size flag: parsed and bounds-checked by oclif, its value in bytes. */
export function sizeFlag(opts: { summary: string; default: string } & SizeBounds): Interfaces.OptionFlag<number> {
  const bounds = { min: opts.min, max: opts.max };
  return Flags.custom<number>({
    summary: `${opts.summary} (${formatSize(bounds.min)} to ${formatSize(bounds.max)})`,
    helpValue: '<size>',
    parse: async (input, _ctx, flag) => parseSize(input, `--${flag.name}`, bounds),
    default: async (ctx) => parseSize(opts.default, `--${ctx.options.name}`, bounds),
    defaultHelp: async () => opts.default,
  })();
}
