import { describe, expect, it } from 'vitest';
import { formatDuration, MAX_DURATION_MS, parseDuration } from '../../../src/duration.js';
import { insightErrorOf } from '../../support/errors.js';

const any = { min: 1 };

describe('one duration rule for every flag', () => {
  it('takes ms, s, m, h, fractions and combinations', () => {
    expect(parseDuration('500ms', '--t', any)).toBe(500);
    expect(parseDuration('3s', '--t', any)).toBe(3000);
    expect(parseDuration('1.5s', '--t', any)).toBe(1500);
    expect(parseDuration('2m', '--t', any)).toBe(120_000);
    expect(parseDuration('1h30m', '--t', any)).toBe(5_400_000);
    expect(parseDuration(' 1m30s ', '--t', any)).toBe(90_000);
  });

  it('refuses a bare number with a hint that names the units, whatever the flag', () => {
    for (const v of ['3', '0', '90', '1.5']) {
      const e = insightErrorOf(() => parseDuration(v, '--probe-timeout', any));
      expect(e).toMatchObject({ kind: 'usage', exitCode: 2, message: `--probe-timeout ${v}: a duration needs a unit` });
      expect(e.hint).toContain(`${v}s`);
    }
  });

  it('refuses what is not a duration', () => {
    for (const v of ['', 'soon', '5m junk', '5 m', '-5s', '5d', '5M', '1e3s', '5s5']) {
      expect(insightErrorOf(() => parseDuration(v, '--timeout', any))).toMatchObject({ kind: 'usage', message: `--timeout ${JSON.stringify(v)} is not a duration` });
    }
  });

  it('holds each flag to its bounds: no 0 where 0 is meaningless, nothing above 24h', () => {
    expect(insightErrorOf(() => parseDuration('0s', '--timeout', { min: 1000 }))).toMatchObject({ message: '--timeout 0s is too short', hint: 'Give at least 1s.' });
    expect(insightErrorOf(() => parseDuration('500ms', '--timeout', { min: 1000 })).message).toBe('--timeout 500ms is too short');
    expect(insightErrorOf(() => parseDuration('25h', '--timeout', { min: 1 }))).toMatchObject({ message: '--timeout 25h is too long', hint: 'Give at most 24h.' });
    // 1000h used to overflow Node's timer and end a wait at once.
    expect(insightErrorOf(() => parseDuration('1000h', '--timeout', { min: 1 })).message).toBe('--timeout 1000h is too long');
    expect(parseDuration('24h', '--timeout', { min: 1 })).toBe(MAX_DURATION_MS);
    expect(MAX_DURATION_MS).toBeLessThan(2 ** 31 - 1);
    expect(insightErrorOf(() => parseDuration('10m', '--probe-timeout', { min: 100, max: 300_000 })).hint).toBe('Give at most 5m.');
  });

  it('formats the way it parses', () => {
    for (const [ms, s] of [[500, '500ms'], [1000, '1s'], [90_000, '1m30s'], [3_600_000, '1h'], [5_400_000, '1h30m'], [86_400_000, '24h']] as const) {
      expect(formatDuration(ms)).toBe(s);
      expect(parseDuration(s, '--t', any)).toBe(ms);
    }
    expect(formatDuration(0)).toBe('0s');
  });
});
