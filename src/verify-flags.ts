/** The flags of the cloud-side check (verify), shared by verify, doctor --cloud and install's last step. */
import * as Flags from '@oclif/core/flags';
import { durationFlag } from './duration.js';

export const verifyTuningFlags = {
  'verify-timeout': durationFlag({ summary: 'Timeout of each cloud request of the data check', default: '15s', min: 1000, max: 300_000 }),
  // At most the query API's 5-minute lookback: an older newest sample is not seen at all (and is stale).
  'stale-after': durationFlag({ summary: 'A source whose newest sample is older than this is stale', default: '3m', min: 30_000, max: 300_000 }),
  'collector-log-lines': Flags.integer({ summary: 'Lines of each collector log read when data does not arrive.', default: 500, min: 10, max: 10_000 }),
};

/** The tuning flags as the verify request wants them. */
export function verifyTuning(f: { 'verify-timeout': number; 'stale-after': number; 'collector-log-lines': number }) {
  return { timeoutMs: f['verify-timeout'], staleAfterMs: f['stale-after'], logLines: f['collector-log-lines'] };
}
