import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RawApiError } from '../../../src/kube/proxy.js';
import { loopbackApi, type LoopbackApi } from '../../support/api-server.js';
import { ListSplitter, ListSyntaxError } from '../../../src/kube/list-stream.js';
import { lean } from '../../../src/kube/lean.js';

/** A deterministic generator, so a failing case can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const tricky = ['plain', 'with "quotes"', 'brace } and [ bracket', 'back\\slash\\', 'ünïcødé ✓ 𝄞', '"items":[{', '\n\t\u0001', ''];

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 3 ? 4 : 7));
  switch (k) {
    case 0: return tricky[Math.floor(r() * tricky.length)];
    case 1: return Math.floor(r() * 1e6) / 7;
    case 2: return r() < 0.5 ? null : r() < 0.5;
    case 3: return `s${Math.floor(r() * 1000)}`;
    case 4: return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < Math.floor(r() * 4); i++) o[i % 2 ? tricky[Math.floor(r() * tricky.length)]! : `k${i}`] = randomValue(r, depth + 1);
      if (r() < 0.2) o.items = [randomValue(r, depth + 1)];
      return o;
    }
  }
}

function randomList(seed: number) {
  const r = rng(seed);
  const items = Array.from({ length: Math.floor(r() * 6) }, (_, i) => ({ metadata: { name: `p${i}`, note: tricky[i % tricky.length] }, spec: randomValue(r, 1) }));
  const metadata = { resourceVersion: '42', ...(r() < 0.5 ? { continue: 'tok "x"' } : {}) };
  // Key order and whitespace vary: the splitter must not depend on either.
  const doc = r() < 0.5 ? { kind: 'PodList', apiVersion: 'v1', metadata, items } : { items, metadata, kind: 'PodList' };
  const text = r() < 0.5 ? JSON.stringify(doc) : JSON.stringify(doc, null, 1 + Math.floor(r() * 3));
  return { doc, text };
}

function split(text: string, sizes: () => number) {
  const bytes = Buffer.from(text, 'utf8');
  const got: unknown[] = [];
  const s = new ListSplitter((x) => got.push(x));
  for (let i = 0; i < bytes.length; ) {
    const n = Math.max(1, sizes());
    s.push(bytes.subarray(i, i + n));
    i += n;
  }
  return { items: got, rest: s.end() };
}

describe('ListSplitter', () => {
  it('yields the same items and list metadata as JSON.parse, however the bytes are chunked', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const { doc, text } = randomList(seed);
      const r = rng(seed * 31);
      for (const sizes of [() => 1, () => 3, () => 1 + Math.floor(r() * 64), () => 1 << 20]) {
        const { items, rest } = split(text, sizes);
        expect(items, `seed ${seed}`).toEqual(doc.items);
        expect(rest, `seed ${seed}`).toEqual({ ...doc, items: [] });
      }
    }
  });

  it('refuses an answer cut short, and one that is not a JSON object', () => {
    const { text } = randomList(7);
    expect(() => split(text.slice(0, text.length - 3), () => 5)).toThrow(SyntaxError);
    expect(() => split('[1,2]', () => 5)).toThrow(SyntaxError);
    expect(() => split('{"items":[{"a":1}], "metadata": {', () => 5)).toThrow(SyntaxError);
  });

  it('refuses a garbled items array instead of returning a shorter list', () => {
    for (const bad of [
      '{"items":[{"a":1}{"b":2}]}', // no comma
      '{"items":[{"a":1},,{"b":2}]}', // two commas
      '{"items":[{"a":1},]}', // trailing comma
      '{"items":[,{"a":1}]}', // leading comma
      '{"items":[1,"two",null,{"three":3}]}', // items that are not objects
      '{"it\\u0065ms":[{"a":1}]}', // a key the byte scan cannot read: items left in the rest
      '{"items":{"a":1}}', // not an array
      '{"items":[{"a":1 2}]}', // an item that is not JSON
      '{"kind":"Status","status":"Failure"}', // a 2xx answer that is no list at all
      '{}',
      '{"ite\\"ms":[{"secret":1}]}', // a key with an escaped quote is not `items`
      '{"items":[{"a":1}],"items":[{"b":2}]}', // two items fields
    ]) {
      for (const size of [1, 4, 1 << 20]) expect(() => split(bad, () => size), bad).toThrow(ListSyntaxError);
    }
    // What the API server really sends for an empty list parses.
    expect(split('{"kind":"PodList","items":[]}', () => 1)).toEqual({ items: [], rest: { kind: 'PodList', items: [] } });
    expect(split('{"kind":"PodList","items":null}', () => 2).items).toEqual([]);
  });

  it('names where an answer broke, never its bytes (a list may hold Secrets)', () => {
    const e = (() => {
      try {
        split('{"items":[{"data":{"k":"Q2FuYXJ5Q2xpU2VjcmV0"},"x":tru}]}', () => 7);
      } catch (x) {
        return x as Error;
      }
    })();
    expect(e).toBeInstanceOf(ListSyntaxError);
    expect(e!.message).not.toContain('Q2Fu');
    expect(e!.message).toMatch(/item 1 of the list answer is not JSON/);
  });

  it('searches each chunk for backslashes once, not once per string (a quadratic rescan on big chunks)', () => {
    // Counted, not timed: calls to Buffer.prototype.indexOf. A list without backslashes needs one quote
    // search per string and one backslash search per chunk; searching both per string rescans the rest
    // of the chunk for a backslash that is not there, which costs O(chunk) each time.
    const items = Array.from({ length: 2000 }, (_, i) => ({ metadata: { name: `pod-${i}`, labels: { app: 'a'.repeat(200) } }, spec: { containers: [{ name: 'c', image: 'x'.repeat(300) }] } }));
    const text = JSON.stringify({ kind: 'PodList', items });
    const strings = (text.match(/"/g) ?? []).length / 2;
    const orig = Buffer.prototype.indexOf;
    let calls = 0;
    Buffer.prototype.indexOf = function (this: Buffer, ...a: Parameters<Buffer['indexOf']>) {
      calls++;
      return orig.apply(this, a);
    } as Buffer['indexOf'];
    try {
      expect(split(text, () => 1 << 24).items).toHaveLength(2000);
    } finally {
      Buffer.prototype.indexOf = orig;
    }
    expect(calls).toBeLessThanOrEqual(strings + 2);
  });
});

describe('lean', () => {
  it('drops managedFields, the last-applied annotation and a node image list, and nothing else', () => {
    const node = {
      metadata: { name: 'n', managedFields: [{ manager: 'm' }], annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', keep: 'me' }, labels: { a: 'b' } },
      status: { images: [{ names: ['x'] }], conditions: [{ type: 'Ready', status: 'True' }] },
    };
    expect(lean(node)).toEqual({ metadata: { name: 'n', annotations: { keep: 'me' }, labels: { a: 'b' } }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    const pod = { metadata: { name: 'p' }, spec: { containers: [{ image: 'i' }] }, status: { containerStatuses: [{ image: 'i' }] } };
    expect(lean(structuredClone(pod))).toEqual(pod);
  });
});

describe('ApiClient.list against a loopback API server', () => {
  let api: LoopbackApi;
  /** What the server saw: path+query and when it arrived. */
  let seen: Array<{ url: string; at: number }> = [];
  /** How many 429s to answer before serving, and the Retry-After they carry ('' for none). */
  let throttle = { left: 0, retryAfter: '1' };
  let throttledAt: number[] = [];
  beforeAll(async () => {
    api = await loopbackApi((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      seen.push({ url: `${u.pathname}${u.search}`, at: Date.now() });
      if (throttle.left > 0) {
        throttle.left--;
        throttledAt.push(Date.now());
        res.writeHead(429, { 'content-type': 'application/json', ...(throttle.retryAfter ? { 'retry-after': throttle.retryAfter } : {}) });
        return res.end(JSON.stringify({ kind: 'Status', code: 429, reason: 'TooManyRequests', message: 'Too many requests, please try again later.' }));
      }
      if (u.pathname === '/api/v1/nodes') {
        const cont = u.searchParams.get('continue');
        res.writeHead(200, { 'content-type': 'application/json' });
        const node = (n: string) => ({ metadata: { name: n, managedFields: [{ manager: 'kubelet' }] }, status: { images: [{ names: ['big'] }], conditions: [] } });
        // Written in small pieces, so items straddle chunk boundaries on the client too.
        const body = JSON.stringify({ kind: 'NodeList', metadata: cont ? { resourceVersion: '9' } : { continue: 'c1', resourceVersion: '9' }, items: cont ? [node('n3')] : [node('n1'), node('n2')] });
        for (let i = 0; i < body.length; i += 17) res.write(body.slice(i, i + 17));
        return res.end();
      }
      if (u.pathname === '/api/v1/broken') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"items":[{"a":1},{"b":');
      }
      res.writeHead(404);
      res.end('{}');
    });
  });
  afterAll(() => api.close());
  beforeEach(() => {
    seen = [];
    throttle = { left: 0, retryAfter: '1' };
    throttledAt = [];
  });
  const client = (throttleBudgetMs?: number) => api.client(throttleBudgetMs !== undefined ? { throttleBudgetMs } : {});

  it('asks the watch cache on the first page only, and trims each item as it is parsed', async () => {
    const c = await client();
    const items = await c.list<{ metadata: { name: string } }>('/api/v1/nodes', { cached: true, limit: 2 }, { project: lean });
    c.close();
    expect(items).toEqual([
      { metadata: { name: 'n1' }, status: { conditions: [] } },
      { metadata: { name: 'n2' }, status: { conditions: [] } },
      { metadata: { name: 'n3' }, status: { conditions: [] } },
    ]);
    const [first, second] = seen.map((s) => new URL(s.url, 'http://x').searchParams);
    expect(first!.get('resourceVersion')).toBe('0');
    expect(first!.get('limit')).toBe('2');
    // A continue token carries its snapshot: the API server refuses resourceVersion beside it.
    expect(second!.get('continue')).toBe('c1');
    expect(second!.has('resourceVersion')).toBe(false);
  });

  it('reads consistently (no resourceVersion) unless asked for the cache', async () => {
    const c = await client();
    const items = await c.list('/api/v1/nodes');
    c.close();
    expect(items).toHaveLength(3);
    expect(seen.every((s) => !new URL(s.url, 'http://x').searchParams.has('resourceVersion'))).toBe(true);
  });

  it('waits out 429s for the Retry-After the server gives, holding back every GET of the client meanwhile', async () => {
    const c = await client();
    throttle = { left: 2, retryAfter: '1' };
    const [a, b] = await Promise.all([c.list('/api/v1/nodes'), c.list('/api/v1/nodes')]);
    c.close();
    expect(a).toHaveLength(3);
    expect(b).toHaveLength(3);
    expect(c.throttled).toBe(2);
    // No request reached the server within a second of the last 429 (the Retry-After), so a throttled
    // run slows down instead of hammering the flow it was throttled in. (Timers never fire early; the
    // 5 ms is the clocks' granularity.)
    const last429 = Math.max(...throttledAt);
    const after = seen.filter((s) => s.at > last429);
    expect(after.length).toBeGreaterThan(0);
    for (const s of after) expect(s.at - last429).toBeGreaterThanOrEqual(995);
  });

  it('waits out a 429 on a single GET too, but gives a proxied probe its target 429 at once', async () => {
    const c = await client();
    throttle = { left: 1, retryAfter: '1' };
    const r = await c.get('/api/v1/nodes');
    expect(r.status).toBe(200);
    expect(c.throttled).toBe(1);
    throttle = { left: 1, retryAfter: '5' };
    const p = await c.probe({ kind: 'pod', namespace: 'ns', name: 'p', port: 80 }, '/metrics');
    c.close();
    expect(p.status).toBe(429);
    expect(p.outcome).toBe('http-error');
    expect(c.throttled).toBe(1);
  });

  it('ends a 429 wait when the client is closed (a run past its deadline)', { timeout: 8000 }, async () => {
    const c = await client();
    throttle = { left: 1, retryAfter: '10' };
    const pending = c.list('/api/v1/nodes').catch((x: unknown) => x);
    // Until the client has read the 429 and is sleeping (closing before would abort the request instead).
    while (c.throttled < 1) await new Promise((r) => setTimeout(r, 5));
    c.close();
    // Without close() ending the pause this would sleep the whole 10 s Retry-After first.
    expect((await pending as { code?: string }).code).toBe('ABORTED');
  });

  it('waits a second when a 429 carries no Retry-After', async () => {
    const c = await client();
    throttle = { left: 1, retryAfter: '' };
    expect(await c.list('/api/v1/nodes')).toHaveLength(3);
    c.close();
    expect(seen[1]!.at - throttledAt[0]!).toBeGreaterThanOrEqual(995);
  });

  it('gives the 429 back once its throttle budget is spent', async () => {
    const c = await client(1900);
    throttle = { left: 100, retryAfter: '1' };
    const e = await c.list('/api/v1/nodes').catch((x: unknown) => x);
    c.close();
    expect(e).toBeInstanceOf(RawApiError);
    expect((e as RawApiError).code).toBe(429);
    expect((e as RawApiError).headers['retry-after']).toBe('1');
    // One wait of a second fits in 1.9 s (if the first 429 comes within 0.9 s), a second never does.
    expect(throttledAt).toHaveLength(2);
  });

  it('rejects a list answer that ends mid-item instead of returning part of it', async () => {
    const c = await client();
    const e = await c.list('/api/v1/broken').catch((x: unknown) => x);
    c.close();
    expect((e as { code?: string }).code).toBe('EBADLIST');
  });
});
