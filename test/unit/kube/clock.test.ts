import { describe, expect, it } from 'vitest';
import { serverClockOffset, serverNow } from '../../../src/kube/clock.js';

const answering = (date: string | undefined) => ({ get: async () => ({ status: 200, body: '{}', truncated: false, ...(date ? { date } : {}) }) });

describe('the API server clock', () => {
  it('measures how far the server is ahead from its Date header (to the second, erring towards younger ages)', async () => {
    const ahead = await serverClockOffset(answering(new Date(Date.now() + 10 * 60_000).toUTCString()));
    expect(ahead).toBeGreaterThan(10 * 60_000 - 2000);
    expect(ahead).toBeLessThanOrEqual(10 * 60_000);
    expect(serverNow(ahead).getTime() - Date.now()).toBeGreaterThan(10 * 60_000 - 2500);
  });
  it('is this machine\'s clock when the server sends no Date', async () => {
    expect(await serverClockOffset(answering(undefined))).toBe(0);
  });
});
