/**
 * The API server's clock. Ages that decide a repair (how long a release has been pending, whether a
 * probe pod's run is over) compare the server's own timestamps, so they are measured against the
 * server's time, not this machine's: a laptop whose clock runs minutes fast must not make a running
 * helm operation look old.
 */
import type { ApiClient } from './proxy.js';

/** How far the server's clock is ahead of ours, from one GET /version; 0 when it sends no Date. */
export async function serverClockOffset(api: Pick<ApiClient, 'get'>): Promise<number> {
  const before = Date.now();
  const r = await api.get('/version', { timeoutMs: 10_000 });
  const mid = (before + Date.now()) / 2;
  const server = r.date ? Date.parse(r.date) : Number.NaN;
  // The header drops the fraction of a second, which errs towards younger ages: the safe side.
  return Number.isNaN(server) ? 0 : server - mid;
}

/** The server's time now, given its offset. */
export const serverNow = (offsetMs: number): Date => new Date(Date.now() + offsetMs);
