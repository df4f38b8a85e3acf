import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newestLog, type LogGet, type LogResponse } from '../../../src/bundle/logs.js';

// A fake pods/log endpoint over timestamped lines, with the API server's semantics: sinceSeconds keeps
// the lines of the window, tailLines the last N of those, limitBytes the FIRST N bytes of what is left.
// The transport stops reading at maxBytes (truncated), as src/kube/proxy.ts does.

const NOW = Date.parse('2025-06-01T12:00:00Z');
const SINCE = 3600;

interface Line {
  /** Seconds before now. */
  age: number;
  text: string;
}

function at(age: number, msg: string): Line {
  return { age, text: `${new Date(NOW - age * 1000).toISOString()} ${msg}` };
}

/** `count` lines written over the last `span` seconds, oldest first; `msg(i)` is line i's message. */
function lines(count: number, msg: (i: number) => string, o: { from?: number; span?: number } = {}): Line[] {
  const from = o.from ?? 60;
  const span = o.span ?? 50;
  return Array.from({ length: count }, (_, i) => at(from - Math.floor((span * i) / count), msg(i)));
}

interface Fake {
  get: LogGet;
  queries: Array<Record<string, string>>;
}

function server(log: Line[], o: { ignoreLimit?: boolean; readCap?: number; answer?: (i: number) => LogResponse | undefined } = {}): Fake {
  const queries: Array<Record<string, string>> = [];
  const get: LogGet = async (q, { maxBytes }) => {
    queries.push(Object.fromEntries(q));
    const early = o.answer?.(queries.length - 1);
    if (early) return early;
    let w = log.filter((l) => l.age <= Number(q.get('sinceSeconds') ?? Infinity));
    const tail = q.get('tailLines');
    if (tail !== null) w = w.slice(Math.max(0, w.length - Number(tail)));
    let buf = Buffer.from(w.map((l) => `${l.text}\n`).join(''));
    const limit = q.get('limitBytes');
    if (limit !== null && !o.ignoreLimit) buf = buf.subarray(0, Number(limit));
    const cap = Math.min(maxBytes, o.readCap ?? Infinity);
    const truncated = buf.length >= cap;
    if (truncated) buf = buf.subarray(0, cap);
    return { status: 200, body: buf.toString('utf8'), truncated };
  };
  return { get, queries };
}

const join = (ls: Line[]) => ls.map((l) => `${l.text}\n`).join('');
const windowOf = (log: Line[]) => log.filter((l) => l.age <= SINCE);

/** The newest whole lines of the window that fit in `limit` bytes together. */
function newestWhole(log: Line[], limit: number): string {
  const w = windowOf(log);
  let bytes = 0;
  let i = w.length;
  while (i > 0 && bytes + Buffer.byteLength(`${w[i - 1]!.text}\n`) <= limit) bytes += Buffer.byteLength(`${w[--i]!.text}\n`);
  return join(w.slice(i));
}

/** `text` is a run of whole lines of the window, within the budget. */
function expectWholeLines(text: string, log: Line[], limit: number): void {
  expect(Buffer.byteLength(text)).toBeLessThanOrEqual(limit);
  if (!text) return;
  const all = join(windowOf(log));
  const i = all.indexOf(text);
  expect(i, 'a run of the window').toBeGreaterThanOrEqual(0);
  expect(i === 0 || all[i - 1] === '\n', 'starts at a line').toBe(true);
  expect(text.endsWith('\n'), 'ends at a line').toBe(true);
}

/** Neither end of `secret` (4 characters or more) is in `text` but where the whole secret is. */
function expectNoPartOf(secret: string, text: string): void {
  const rest = text.split(secret).join('\n');
  for (let n = 4; n < secret.length; n++) {
    expect(rest, `prefix ${n}`).not.toContain(secret.slice(0, n));
    expect(rest, `suffix ${n}`).not.toContain(secret.slice(-n));
  }
}

// Letters no other text of these logs has four of in a row (timestamps have a T and a Z, lone).
const SECRET = Array.from({ length: 24 }, () => 'QWXJKV'[randomInt(6)]).join('');

const chatter = (i: number) => `level=info msg="request served" id=${String(i).padStart(5, '0')} ms=${i % 97}`;

describe('newestLog', () => {
  it('returns a window under the limit whole, with one request', async () => {
    const log = [...lines(300, chatter, { from: 7200, span: 3000 }), ...lines(20, chatter)];
    const f = server(log);
    const r = await newestLog(f.get, { sinceSeconds: SINCE, limitBytes: 4096 });
    expect(r).toEqual({ text: join(windowOf(log)), truncated: false });
    expect(f.queries).toEqual([{ sinceSeconds: String(SINCE), limitBytes: '4096' }]);
  });

  it('keeps the newest whole lines of a window over the limit, asking for no more than 4x the limit', async () => {
    const log = [...lines(300, chatter, { from: 7200, span: 3000 }), ...lines(500, chatter)];
    const f = server(log);
    const r = await newestLog(f.get, { sinceSeconds: SINCE, limitBytes: 4096 });
    expect(r.text).toBe(newestWhole(log, 4096));
    expect(r.text.endsWith(`${log.at(-1)!.text}\n`)).toBe(true);
    expect(r.truncated).toBe(true);
    expect(r.note).toMatch(/older lines left out/);
    expect(f.queries).toHaveLength(2);
    for (const q of f.queries) {
      expect(q.sinceSeconds).toBe(String(SINCE));
      expect(Number(q.limitBytes)).toBeLessThanOrEqual(4 * 4096);
    }
    expect(f.queries[1]!.tailLines).toBeDefined();
  });

  it('never keeps part of a secret on the line the start cut falls in', async () => {
    const log = lines(400, (i) => `auth id=${i} token=${SECRET} ok`);
    const lineBytes = Buffer.byteLength(`${log[0]!.text}\n`);
    for (let limit = 2048; limit < 2048 + 2 * lineBytes; limit++) {
      const r = await newestLog(server(log).get, { sinceSeconds: SINCE, limitBytes: limit });
      expect(r.text, `limit ${limit}`).toBe(newestWhole(log, limit));
      expectNoPartOf(SECRET, r.text);
    }
  });

  it('never keeps part of a secret on the line a transport cut falls in, even under the limit', async () => {
    const log = lines(400, (i) => `auth id=${i} token=${SECRET} ok`);
    const lineBytes = Buffer.byteLength(`${log[0]!.text}\n`);
    for (let cap = 1024; cap < 1024 + 2 * lineBytes; cap++) {
      const r = await newestLog(server(log, { readCap: cap }).get, { sinceSeconds: SINCE, limitBytes: 4096 });
      expect(r.truncated, `cap ${cap}`).toBe(true);
      expect(r.text, `cap ${cap}`).not.toBe('');
      expectWholeLines(r.text, log, cap);
      expectNoPartOf(SECRET, r.text);
    }
  });

  it('asks for fewer lines again when the newest lines are longer than the first ones', async () => {
    const log = [...lines(200, (i) => `ok ${i}`, { from: 600, span: 500 }), ...lines(30, (i) => `slow ${i} ${'x'.repeat(400)}`)];
    const f = server(log);
    const r = await newestLog(f.get, { sinceSeconds: SINCE, limitBytes: 1024 });
    expect(r.text).toBe(newestWhole(log, 1024));
    expect(r.text).toContain('slow 29 ');
    expect(f.queries.length).toBeGreaterThan(2);
    expect(f.queries.length).toBeLessThanOrEqual(4);
    for (const q of f.queries) expect(Number(q.limitBytes)).toBeLessThanOrEqual(4 * 1024);
  });

  it('asks for more lines again when the newest lines are shorter than the first ones', async () => {
    const log = [...lines(20, (i) => `start ${i} ${'y'.repeat(160)}`, { from: 600, span: 500 }), ...lines(500, (i) => `ok ${i}`)];
    const f = server(log);
    const r = await newestLog(f.get, { sinceSeconds: SINCE, limitBytes: 2048 });
    expect(r.text).toBe(newestWhole(log, 2048));
    expect(f.queries.length).toBeGreaterThan(2);
  });

  it('a newest line longer than the limit leaves nothing of it, and says so', async () => {
    const huge = at(1, `dump ${'z'.repeat(1200)} token=${SECRET} ${'z'.repeat(1200)}`);
    for (const log of [[...lines(5, chatter), huge], [huge]]) {
      const r = await newestLog(server(log).get, { sinceSeconds: SINCE, limitBytes: 1024 });
      expect(r.text).toBe('');
      expect(r.truncated).toBe(true);
      expect(r.note).toMatch(/longer than the limit/);
    }
  });

  it('a newest line longer than 4x the limit: keeps the whole lines before it', async () => {
    const log = [...lines(100, chatter), at(0, `dump ${'z'.repeat(6000)}`)];
    const f = server(log);
    const r = await newestLog(f.get, { sinceSeconds: SINCE, limitBytes: 1024 });
    expectWholeLines(r.text, log, 1024);
    expect(r.text).not.toContain('z');
    expect(r.text.endsWith(`${log.at(-2)!.text}\n`)).toBe(true);
    expect(r.truncated).toBe(true);
    expect(r.note).toMatch(/the newest lines could not be read whole \(more than 4KiB\)/);
    expect(f.queries.length).toBeLessThanOrEqual(4);
  });

  it('counts bytes, not characters, and never splits a character', async () => {
    const log = lines(200, (i) => `${i} ${'日本語のログ'.repeat(3)} ✓ Grüße 😀 ${'é'.repeat(i % 7)}`);
    // Fewer characters than the limit, more bytes: not a whole window.
    const few = log.slice(-12);
    expect(join(few).length).toBeLessThan(1024);
    expect(Buffer.byteLength(join(few))).toBeGreaterThan(1124);
    for (const l of [few, log]) {
      for (let limit = 1024; limit < 1124; limit++) {
        const r = await newestLog(server(l).get, { sinceSeconds: SINCE, limitBytes: limit });
        expect(r.text, `limit ${limit}`).toBe(newestWhole(l, limit));
        expect(r.text).not.toContain('\uFFFD');
      }
    }
  });

  it('a server that ignores limitBytes: the read stopped at maxBytes is a cut', async () => {
    const log = lines(2000, chatter);
    const f = server(log, { ignoreLimit: true });
    const r = await newestLog(f.get, { sinceSeconds: SINCE, limitBytes: 4096 });
    expect(r.text).toBe(newestWhole(log, 4096));
  });

  it('an error answer is HTTP <status>: <the Status message>, one line of at most 200 characters', async () => {
    const status = (code: number, message: string): LogResponse => ({ status: code, body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code }), truncated: false });
    const forbidden = 'pods "p-1" is forbidden: User "dev" cannot get resource "pods/log" in the namespace "insight"';
    await expect(newestLog(server([], { answer: () => status(403, forbidden) }).get, { sinceSeconds: SINCE, limitBytes: 1024 })).rejects.toThrow(new Error(`HTTP 403: ${forbidden}`));
    // The pod went away between the first answer and the tail request.
    const gone = server(lines(500, chatter), { answer: (i) => (i === 1 ? status(404, 'pods "p-1" not found') : undefined) });
    await expect(newestLog(gone.get, { sinceSeconds: SINCE, limitBytes: 1024 })).rejects.toThrow(new Error('HTTP 404: pods "p-1" not found'));
    expect(gone.queries).toHaveLength(2);
    const html = `<html>\n<body>\n${'bad gateway '.repeat(50)}\n</body>\n</html>`;
    const err = await newestLog(server([], { answer: () => ({ status: 502, body: html, truncated: false }) }).get, { sinceSeconds: SINCE, limitBytes: 1024 }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg.startsWith('HTTP 502: <html> <body> bad gateway bad gateway')).toBe(true);
    expect(msg).not.toContain('\n');
    expect(msg.length).toBe('HTTP 502: '.length + 200);
  });
});
