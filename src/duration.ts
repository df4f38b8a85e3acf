/**
 * What a duration means, in one place: every command's duration flag is parsed here, with the same
 * rules and per-flag bounds. A unit is required (`ms`, `s`, `m`, `h`, combinable as in `1h30m`): a bare
 * number meant milliseconds in one command and seconds in others, so it is refused with a hint.
 */
import * as Flags from '@oclif/core/flags';
import type { Interfaces } from '@oclif/core';
import { InsightError } from './errors.js';
import { shownValue } from './input.js';

/** Nothing waits longer than a day; it also keeps every wait far below Node's timer limit (2^31-1 ms). */
export const MAX_DURATION_MS = 24 * 3_600_000;

export interface DurationBounds {
  /** Smallest meaningful value, in ms (no command accepts 0). */
  min: number;
  max?: number;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `3s`, `500ms`, `1h30m`, `1.5m` → milliseconds; `flag` names the flag in errors (`--timeout`). */
export function parseDuration(value: string, flag: string, bounds: DurationBounds): number {
  const t = value.trim();
  const usage = (message: string, hint: string) => new InsightError('usage', message, { hint });
  if (/^\d+(\.\d+)?$/.test(t) && t.length <= 16) {
    throw usage(`${flag} ${t}: a duration needs a unit`, `Write ${t}s for seconds (or ${t}m, ${t}ms, ${t}h).`);
  }
  let total = 0;
  let consumed = '';
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
    consumed += m[0];
  }
  if (!t || consumed !== t) throw usage(`${flag} ${shownValue(value)} is not a duration`, 'Use a number with a unit: 500ms, 30s, 5m, 1h30m.');
  total = Math.round(total);
  const max = Math.min(bounds.max ?? MAX_DURATION_MS, MAX_DURATION_MS);
  if (total < bounds.min) throw usage(`${flag} ${t} is too short`, `Give at least ${formatDuration(bounds.min)}.`);
  if (total > max) throw usage(`${flag} ${t} is too long`, `Give at most ${formatDuration(max)}.`);
  return total;
}

/** 90000 → `1m30s`, 500 → `500ms`: the inverse of parseDuration, for messages. */
export function formatDuration(ms: number): string {
  // Zero is `0s`, the spelling a duration flag takes; only a fraction of a second needs ms.
  if (ms > 0 && ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`;
}

/** A duration flag: parsed and bounds-checked by oclif, its value in milliseconds. */
export function durationFlag(opts: { summary: string; default: string; helpGroup?: string } & DurationBounds): Interfaces.OptionFlag<number> {
  const bounds: DurationBounds = { min: opts.min, ...(opts.max !== undefined ? { max: opts.max } : {}) };
  return Flags.custom<number>({
    summary: `${opts.summary} (${formatDuration(bounds.min)} to ${formatDuration(Math.min(bounds.max ?? MAX_DURATION_MS, MAX_DURATION_MS))})`,
    helpValue: '<duration>',
    ...(opts.helpGroup ? { helpGroup: opts.helpGroup } : {}),
    parse: async (input, _ctx, flag) => parseDuration(input, `--${flag.name}`, bounds),
    default: async (ctx) => parseDuration(opts.default, `--${ctx.options.name}`, bounds),
    defaultHelp: async () => opts.default,
  })();
}
