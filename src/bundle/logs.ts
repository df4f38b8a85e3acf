/**
 * The newest part of a container's log within a time window: at most a byte budget, whole lines only.
 *
 * pods/log's limitBytes keeps the first bytes of the window, the oldest part, and its cut can fall
 * inside a line: half a secret on that line would escape the redactor, which looks for whole secrets.
 * So: ask once with limitBytes; a window under the budget is the answer as it is. Otherwise ask for
 * the last N lines of the window (tailLines, N estimated from the first answer's line length) under a
 * larger limitBytes that only guards memory, keep its last bytes, and drop any line a cut falls in.
 */
import { formatSize } from '../size.js';

/** One pods/log answer; `truncated`: the transport stopped reading at `maxBytes`. */
export interface LogResponse {
  status: number;
  body: string;
  truncated: boolean;
}

/**
 * One GET of pods/log with `query` (sinceSeconds, limitBytes, maybe tailLines) added to the caller's
 * own parameters (container, previous), reading at most `maxBytes` of the body.
 */
export type LogGet = (query: URLSearchParams, o: { maxBytes: number }) => Promise<LogResponse>;

export interface NewestLogOptions {
  sinceSeconds: number;
  /** The budget: the text is never longer, in UTF-8 bytes. */
  limitBytes: number;
}

export interface NewestLog {
  /** Whole lines of the window, newest last; the window itself, untouched, when it fits. */
  text: string;
  /** Part of the window was left out. */
  truncated: boolean;
  /** What was left out, one line; set when truncated. */
  note?: string;
}

/** Tail requests after the first one, at most: the estimate is refined from each answer. */
const TAIL_ATTEMPTS = 3;
/** The tail request's limitBytes is 4× the budget, and never more than this above it (memory). */
const GUARD_EXTRA_MAX = 32 * 1024 * 1024;
/** The transport reads a little past limitBytes, so the server's cut is the one seen. */
const READ_SLACK = 1024;
const NL = 0x0a;

/**
 * The newest whole lines of the last `sinceSeconds`, at most `limitBytes` UTF-8 bytes. At most 1 + 3
 * GETs, none reading more than 4× limitBytes (+1KiB). An answer other than 200 throws
 * `HTTP <status>: <message>`.
 */
export async function newestLog(get: LogGet, o: NewestLogOptions): Promise<NewestLog> {
  const limit = o.limitBytes;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limitBytes must be a positive integer, not ${limit}`);
  if (!Number.isSafeInteger(o.sinceSeconds) || o.sinceSeconds < 1) throw new RangeError(`sinceSeconds must be a positive integer, not ${o.sinceSeconds}`);

  const ask = async (limitBytes: number, tailLines?: number) => {
    const q = new URLSearchParams({ sinceSeconds: String(o.sinceSeconds), ...(tailLines ? { tailLines: String(tailLines) } : {}), limitBytes: String(limitBytes) });
    const r = await get(q, { maxBytes: limitBytes + READ_SLACK });
    if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${statusMessage(r.body)}`);
    const buf = Buffer.from(r.body, 'utf8');
    // A cut inside a character decodes to U+FFFD (3 bytes), so a cut body never measures under its limit.
    return { body: r.body, buf, cut: r.truncated || buf.length >= limitBytes };
  };

  const first = await ask(limit);
  if (!first.cut) return { text: first.body, truncated: false };

  const guard = Math.min(4 * limit, limit + GUARD_EXTRA_MAX);
  // Aim at the middle of [limit, guard) on a log scale: line lengths may be off by that factor either way.
  const target = Math.sqrt(limit * guard);
  let n = linesFor(target, first.buf);
  // lo: the most lines read whole and under the budget; hi: the fewest lines read cut.
  let lo = 0;
  let hi = Infinity;
  let short: Buffer | undefined;
  let cut: Buffer | undefined;
  let readStopped = false;
  for (let i = 0; i < TAIL_ATTEMPTS; i++) {
    const r = await ask(guard, n);
    if (!r.cut) {
      if (r.buf.length >= limit) return kept(lastWholeLines(r.buf, limit), limit);
      // Fewer lines than asked for: that is the whole window (it changed since the first answer).
      if (lineCount(r.buf) < n) return { text: r.body, truncated: false };
      lo = n;
      short = r.buf;
      n = Math.max(n + 1, Math.ceil((n * target) / Math.max(1, r.buf.length)));
    } else {
      hi = n;
      // Fewer lines start later in the window, so the latest cut answer with a whole line has the newest.
      if (r.buf.includes(NL)) cut = r.buf;
      readStopped = r.buf.length < guard;
      n = linesFor(target, r.buf);
    }
    n = Math.min(Math.max(n, lo + 1), hi - 1);
    if (n <= lo) break;
  }
  // Out of attempts, or no count of lines left to try. Whole newest lines beat a cut answer's.
  if (short) return kept(short, limit);
  // Every tail was cut, so the newest lines cannot be read whole: keep the whole lines before the cut.
  const why = `the newest lines could not be read whole (${readStopped ? 'the read stopped early' : `more than ${formatSize(guard)}`})`;
  return kept(lastWholeLines(beforeCut(cut ?? Buffer.alloc(0)), limit), limit, why);
}

/** How many lines fill `target` bytes, judged by the newer half of an answer, its cut line counted as one. */
function linesFor(target: number, buf: Buffer): number {
  const recent = buf.subarray(buf.length >> 1);
  return Math.max(1, Math.floor((target * Math.max(1, lineCount(recent))) / Math.max(1, recent.length)));
}

function kept(buf: Buffer, limit: number, why?: string): NewestLog {
  const note = buf.length
    ? `${formatSize(buf.length)} of whole lines kept (limit ${formatSize(limit)}): ${why ? `${why}; older lines left out` : 'older lines left out'}`
    : `nothing kept: ${why ?? `the newest line is longer than the limit (${formatSize(limit)})`}`;
  return { text: buf.toString('utf8'), truncated: true, note };
}

/** The last `limit` bytes of `buf`, less the line its start falls inside ('\n' never occurs inside a UTF-8 character). */
function lastWholeLines(buf: Buffer, limit: number): Buffer {
  if (buf.length <= limit) return buf;
  let start = buf.length - limit;
  if (buf[start - 1] !== NL) {
    const i = buf.indexOf(NL, start);
    start = i < 0 ? buf.length : i + 1;
  }
  return buf.subarray(start);
}

/** `buf` less the line its end was cut inside. */
function beforeCut(buf: Buffer): Buffer {
  return buf.subarray(0, buf.lastIndexOf(NL) + 1);
}

function newlines(buf: Buffer): number {
  let c = 0;
  for (let i = buf.indexOf(NL); i >= 0; i = buf.indexOf(NL, i + 1)) c++;
  return c;
}

/** Lines, counting a last one without its '\n'. */
function lineCount(buf: Buffer): number {
  return newlines(buf) + (buf.length && buf[buf.length - 1] !== NL ? 1 : 0);
}

/** A Status answer's message (or the body), as one line of at most 200 characters. */
function statusMessage(body: string): string {
  let m = body;
  try {
    const s = JSON.parse(body) as { message?: unknown } | null;
    if (s && typeof s.message === 'string') m = s.message;
  } catch {
    // not a Status
  }
  const line = m.replace(/\s+/g, ' ').trim();
  return line ? [...line].slice(0, 200).join('') : 'no message';
}
