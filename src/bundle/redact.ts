/**
 * The support bundle's redactor. Every file of a bundle passes through it, in three layers:
 * (1) structural, for objects: leaves under a sensitive key, env-style `{name, value}` entries and
 *     `["--token", "x"]` argument pairs with a sensitive name, and all Secret data become [REDACTED];
 *     managedFields and kubectl's last-applied annotation are dropped (they repeat the object);
 * (2) known secrets: every form of every value we know to be secret (secretForms), anywhere in text,
 *     also when a wrapped text (base64 at 64 or 76 columns, `\n` in JSON) splits it across lines;
 * (3) patterns: Bearer/Basic credentials, JWTs, URL user-info passwords, `key: value` / `key=value` /
 *     `--key value` / YAML block scalars with a sensitive key, PEM private keys, and the user's own
 *     `--redact-extra` patterns.
 * Counts are kept per rule, never the matched text (and for the user's patterns only their number).
 * Every quantifier of the built-in patterns is bounded, so none backtracks without end; the user's
 * patterns are bounded by the caller's deadline (bundle/deadline.ts). No I/O.
 */
import { REDACTED } from '../secret.js';
import { secretForms } from '../values/redact.js';

/** Rule names as manifest.json counts them. */
export type RedactionRule =
  | 'sensitive-key'
  | 'sensitive-env'
  | 'sensitive-argument'
  | 'secret-data'
  | 'known-secret'
  | 'bearer'
  | 'authorization'
  | 'basic-auth'
  | 'jwt'
  | 'url-credentials'
  | 'sensitive-assignment'
  | 'sensitive-block'
  | 'pem-private-key'
  | `redact-extra-${number}`;

export const BUILT_IN_RULES: readonly RedactionRule[] = [
  'sensitive-key', 'sensitive-env', 'sensitive-argument', 'secret-data', 'known-secret', 'bearer', 'authorization', 'basic-auth', 'jwt', 'url-credentials', 'sensitive-assignment', 'sensitive-block', 'pem-private-key',
];

export type RedactionCounts = Partial<Record<RedactionRule, number>>;

// ---- which names hold a credential: the one rule, for keys, env names, flags and assignments ----------

/** Words that, anywhere in a name, make it hold a credential. */
// Plurals other than `passwords` are left out: `tokens=128` counts tokens, a `secrets:` list names Secrets.
const SENSITIVE_WORDS = new Set(['password', 'passwords', 'passwd', 'pass', 'passphrase', 'passcode', 'token', 'secret', 'credential', 'credentials', 'apikey', 'privatekey', 'authtoken']);
/** Adjacent word pairs that do: api_key, privateKey, client-key-data, tls.key. */
const SENSITIVE_PAIRS = new Set(['api key', 'private key', 'key data', 'tls key', 'signing key', 'encryption key', 'shared key', 'master key', 'hmac key', 'client key', 'account key', 'connection string']);
/** A last word that makes the name point at a credential rather than hold one (secretName, secretKeyRef, tokenFile). */
const REFERENCE_WORDS = new Set(['name', 'names', 'ref', 'file', 'path', 'dir', 'namespace']);

/** A name's words: camelCase, snake_case, kebab-case, dotted and ALL_CAPS all split the same way. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** The name points at a credential (secretName, secretKeyRef, tokenFile): what it holds is kept. */
export function isReferenceName(name: string): boolean {
  const w = nameWords(name);
  return w.length > 0 && REFERENCE_WORDS.has(w[w.length - 1]!);
}

/** The name holds a credential: password, db_pass, apiKey, client-key-data, ALIBABA_CLOUD_ACCESS_KEY_SECRET. */
export function isSensitiveName(name: string): boolean {
  const w = nameWords(name);
  if (!w.length || REFERENCE_WORDS.has(w[w.length - 1]!)) return false;
  // docker's `auths.<registry>.auth`, MySQL's MYSQL_PWD.
  if (w.length === 1 && (w[0] === 'auth' || w[0] === 'pwd' || w[0] === 'dsn')) return true;
  return w.some((x, i) => SENSITIVE_WORDS.has(x) || SENSITIVE_ENDINGS.test(x) || (i > 0 && (SENSITIVE_PAIRS.has(`${w[i - 1]} ${x}`) || x === 'pwd' || (x === 'pw' && i === w.length - 1))));
}

/** One word run together from several (PGPASSWORD, accesskeysecret, clienttoken): the ending decides, not `tokenizer` or `secretary`. */
const SENSITIVE_ENDINGS = /(?:password|passwd|passcode|secret|secretkey|token|credentials?|apikey|(?:key|store|trust|db|root|admin|user)pass|(?:shared|master|hmac|client|account)key|connectionstring)$/;

/** What a map that points at a credential holds besides the pointer: settings, never the credential. */
const POINTER_KEYS = new Set(['items', 'defaultMode', 'mode', 'optional', 'name', 'namespace', 'audience', 'expirationSeconds', 'readOnly', 'mountPath', 'subPath']);

/** A header that carries a credential: Authorization, Proxy-Authorization, X-Authorization. */
const AUTH_HEADER = /authorization$/i;

/** An Authorization value with its scheme kept: `Token [REDACTED]`. */
function authorizationValue(x: string, counts: RedactionCounts): string {
  if (x === '' || x.includes(REDACTED)) return x;
  bump(counts, 'sensitive-key');
  const scheme = /^([A-Za-z][\w-]{0,20})\s+\S/.exec(x)?.[1];
  return scheme ? `${scheme} ${REDACTED}` : REDACTED;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---- patterns ---------------------------------------------------------------------------------------------

/** A prefilter for names in text: the callback decides with isSensitiveName. */
const KEYWORDS = 'pass|pwd|pw|dsn|auth|token|shared.?key|master.?key|hmac.?key|client.?key|account.?key|connection.?string|secret|credential|private.?key|key.?data|api.?key|tls.?key|signing.?key|encryption.?key';
const KEY = `[\\w.-]{0,64}?(?:${KEYWORDS})[\\w.-]{0,64}`;
/** A value: double-quoted (escapes allowed), single-quoted, JSON-escaped quotes, or bare up to a delimiter. */
const VALUE = `(?:"((?:[^"\\\\\\n]|\\\\.){1,4096})"|'([^'\\n]{1,4096})'|\\\\"((?:[^"\\\\\\n]|\\\\[^"]){1,4096})\\\\"|\\[(?!REDACTED\\])([^\\]\\n]{1,4096})\\]|(?![|>{\\[])([^\\s"',;&}\\]\\\\]{1,4096}))`;

const REDACTED_PEM = `-----BEGIN PRIVATE KEY-----${REDACTED}-----END PRIVATE KEY-----`;

/**
 * A token, not a word of prose: at least `min` characters with a digit or a symbol of an encoding, or
 * letters only in mixed case from 12 characters, or any 20 and more (a base62 token may lack a digit).
 */
function looksLikeCredential(s: string, min: number): boolean {
  if (s.length < min || !/[A-Za-z]/.test(s)) return false;
  if (/[0-9+/=_.-]/.test(s)) return true;
  return (s.length >= 12 && /[a-z]/.test(s) && /[A-Z]/.test(s)) || s.length >= 20;
}

/** Schemes that say what follows is a credential, whatever it looks like. */
const AUTH_SCHEMES = /^(?:token|bearer|basic|apikey|api-key|key|ssws|appcode|acs|hmac|negotiate|ntlm|aws4-hmac-sha256|otp)$/i;

/** `basic <base64 of user:password>`, whatever the case of `basic`. */
function isBasicCredential(scheme: string, cred: string): boolean {
  return /^basic$/i.test(scheme) && /^[A-Za-z0-9+/]{4,}={0,2}$/.test(cred) && Buffer.from(cred, 'base64').toString('latin1').includes(':');
}

/** A pattern's replacement; undefined keeps the match as it is (and does not count it). */
type Replace = (m: string, g: ReadonlyArray<string | undefined>) => string | undefined;

/** The quoted or bare value of a VALUE match, rebuilt around [REDACTED] with its quotes. */
function redactValue(g: ReadonlyArray<string | undefined>, at: number): string | undefined {
  const [dq, sq, esc, seq, bare] = [g[at], g[at + 1], g[at + 2], g[at + 3], g[at + 4]];
  const v = dq ?? sq ?? esc ?? seq ?? bare;
  if (v === undefined || v === REDACTED || (bare !== undefined && NOT_A_VALUE.test(bare))) return undefined;
  if (dq !== undefined) return `"${REDACTED}"`;
  if (sq !== undefined) return `'${REDACTED}'`;
  if (esc !== undefined) return `\\"${REDACTED}\\"`;
  // A flow sequence or a bare value: the whole of it.
  return REDACTED;
}

/** Values that say nothing secret: `token: true`, `password: null`. */
const NOT_A_VALUE = /^(?:true|false|null|~|yes|no)$/i;

const PATTERNS: Array<{ rule: RedactionRule; re: RegExp; replace: Replace }> = [
  { rule: 'jwt', re: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{0,8192}/g, replace: () => REDACTED },
  { rule: 'bearer', re: /\b(Bearer)(\s{1,16})(?!\[REDACTED\])[A-Za-z0-9._~+/-]{1,8192}={0,2}/gi, replace: (_m, g) => `${g[0]}${g[1]}${REDACTED}` },
  { rule: 'basic-auth', re: /\b(Basic)(\s{1,16})(?!\[REDACTED\])[A-Za-z0-9+/]{8,8192}={0,2}/g, replace: (_m, g) => `${g[0]}${g[1]}${REDACTED}` },
  // `Authorization: <scheme> <credential>` (Token, APPCODE, a lowercase basic; Go's `Authorization:[Token x]`)
  // and a bare credential: the scheme stays. A credential must look like one, so prose
  // (`Authorization: denied by policy`) is left alone.
  {
    rule: 'authorization',
    re: /\b(Authorization\\?["']?[ \t]{0,8}[:=][ \t]{0,8}(?:\\?["']|\[){0,3})(?:([A-Za-z][\w-]{0,20})([ \t]{1,8})["']?)?([^\s"'\],;\\]{1,8192})/gi,
    replace: (_m, g) => {
      const cred = g[3]!;
      if (cred === REDACTED || cred.startsWith('[REDACTED')) return undefined;
      const known = g[1] !== undefined && AUTH_SCHEMES.test(g[1]) && cred.length >= 4;
      if (!known && (g[1] !== undefined ? !looksLikeCredential(cred, 8) && !isBasicCredential(g[1], cred) : !looksLikeCredential(cred, 16))) return undefined;
      return `${g[0]}${g[1] ?? ''}${g[2] ?? ''}${REDACTED}`;
    },
  },
  // scheme://user:password@host: the user stays, the password goes.
  { rule: 'url-credentials', re: /\b([a-z][a-z0-9+.-]{1,20}:\/\/[^\s:/?#@"'<>]{0,256}:)([^\s/?#@"'<>]{1,256})@/gi, replace: (_m, g) => (g[1] === REDACTED ? undefined : `${g[0]}${REDACTED}@`) },
  {
    // password: |  (a YAML block scalar): the key line stays, the indented lines under it go.
    rule: 'sensitive-block',
    // A `- password: |` list item's lines are indented past its dash: `\3\3` is two more spaces
    // after a dash and nothing without one (a group that did not match matches empty), so the
    // sibling key after the block, aligned with `password`, is not taken for one of its lines.
    re: new RegExp(`^([ \\t]{0,64})((?:-( ))?["']?(${KEY})["']?[ \\t]{0,8}:[ \\t]{0,8}[|>][-+1-9]{0,2}[ \\t]{0,64}(?:#[^\\n]{0,256})?)\\r?\\n((?:[ \\t]{0,64}\\n|\\1\\3\\3[ \\t]{1,64}[^\\n]{0,65536}(?:\\n|$)){1,100000})`, 'gim'),
    replace: (_m, g) => {
      if (!isSensitiveName(g[3]!) || g[4]!.trim() === '' || g[4]!.trim() === REDACTED) return undefined;
      return `${g[0]}${g[1]}\n${g[0]}${g[2] ? '    ' : '  '}${REDACTED}${g[4]!.endsWith('\n') ? '\n' : ''}`;
    },
  },
  {
    // A key at the start of a line (YAML `key: value`, INI `key = value`) with an unquoted value: the
    // value is the rest of the line (`password: correct horse battery staple`).
    rule: 'sensitive-assignment',
    re: new RegExp(`^([ \\t]{0,64}(?:- )?["']?(${KEY})["']?(?:[ \\t]{0,8}:[ \\t]{1,8}|[ \\t]{1,8}=[ \\t]{1,8}))(?=[^\\s"'|>\\[{])([^\\r\\n]{1,4096}?)([ \\t]*\\r?)$`, 'gim'),
    replace: (_m, g) => (isSensitiveName(g[1]!) && g[2]!.trim() !== '' && !NOT_A_VALUE.test(g[2]!.trim()) ? `${g[0]}${REDACTED}${g[3]}` : undefined),
  },
  {
    // `password: x`, `token=x`, `"apiKey": "x y"`, `--client-secret=x`: the key stays, the value goes.
    // Only on one line: a YAML `secretKeyRef:` followed by a nested map is not an assignment. A name
    // right after `*` or `.` is a Go type (`failed to list *v1.Secret: ...`), not a key.
    rule: 'sensitive-assignment',
    re: new RegExp(`((?<![\\w.*-])(${KEY})\\\\?["']?[ \\t]{0,8}[:=][ \\t]{0,8})${VALUE}`, 'gi'),
    replace: (_m, g) => {
      if (!isSensitiveName(g[1]!)) return undefined;
      const v = redactValue(g, 2);
      return v === undefined ? undefined : `${g[0]}${v}`;
    },
  },
  {
    // `--token abc`, `-password "a b"`: a flag naming a credential, then its value.
    rule: 'sensitive-argument',
    re: new RegExp(`(?<![\\w-])(--?(${KEY})[ \\t]{1,8})(?![-\\[])${VALUE}`, 'gi'),
    replace: (_m, g) => {
      if (!isSensitiveName(g[1]!)) return undefined;
      const v = redactValue(g, 2);
      return v === undefined ? undefined : `${g[0]}${v}`;
    },
  },
];

const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;
const PEM_END = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;
/** A key body at most this far from its marker (PGP blocks with photos are large). */
const PEM_MAX = 1 << 20;
/** A marker's line prefix (a timestamp, a pod name) at most this long. */
const PREFIX_MAX = 256;
const B64 = /[A-Za-z0-9+/=]/;
/** What may join the lines of a key body that is not plain lines: escapes in JSON or Go, HTML, spaces. */
const PEM_SEPARATORS = ['\\r\\n', '\\\\n', '\\n', '<br>', '<br/>', '<br />'];

/**
 * PEM and PGP private key blocks, found by their markers in linear time: a whole block (also with `\n`
 * escapes inside a JSON string) goes; so does a block a log's window or a byte limit cut, by its key
 * body: after a BEGIN with no END, and before an END with no BEGIN. The body is base64 in chunks joined
 * by line breaks (each line may carry the marker line's prefix, a timestamp or a pod name, in the same
 * shape), by an escape (`\n`, `\\n`, `<br>`), or by spaces (chunks of 16 and more); the first thing that
 * is not stops it, so a BEGIN mentioned in prose takes nothing.
 */
function redactPem(s: string, counts: RedactionCounts): string {
  if (!s.includes('PRIVATE KEY')) return s;
  const begins = [...s.matchAll(PEM_BEGIN)].map((m) => [m.index, m.index + m[0].length] as const);
  const ends = [...s.matchAll(PEM_END)].map((m) => [m.index, m.index + m[0].length] as const);
  if (!begins.length && !ends.length) return s;
  const spans: Array<[number, number]> = [];
  let covered = -1;
  let e = 0;
  for (const [k, [b0, b1]] of begins.entries()) {
    if (b0 < covered) continue;
    while (e < ends.length && ends[e]![0] < b1) e++;
    const nextBegin = begins[k + 1]?.[0] ?? s.length;
    const end = ends[e];
    if (end && end[0] < nextBegin && end[0] - b1 <= PEM_MAX) {
      spans.push([b0, end[1]]);
      covered = end[1];
      e++;
      continue;
    }
    const stop = bodyAfter(s, b0, b1, Math.min(nextBegin, b1 + PEM_MAX));
    if (stop > b1) {
      spans.push([b0, stop]);
      covered = stop;
    }
  }
  // An END inside a span is that span's; one pass, as both lists are in text order.
  const whole = [...spans].sort((a, b) => a[0] - b[0]);
  let w = 0;
  for (const [e0, e1] of ends) {
    while (w < whole.length && whole[w]![1] <= e0) w++;
    if (w < whole.length && whole[w]![0] <= e0) continue;
    const start = bodyBefore(s, e0, Math.max(w > 0 ? whole[w - 1]![1] : 0, e0 - PEM_MAX));
    if (start < e0) spans.push([start, e1]);
  }
  if (!spans.length) return s;
  spans.sort((a, b) => a[0] - b[0]);
  // Overlapping spans (a long body reached from both ends) are one.
  const merged: Array<[number, number]> = [];
  for (const sp of spans) {
    const last = merged[merged.length - 1];
    if (last && sp[0] <= last[1]) last[1] = Math.max(last[1], sp[1]);
    else merged.push([sp[0], sp[1]]);
  }
  let out = '';
  let at = 0;
  let n = 0;
  for (const [a, b] of merged) {
    const piece = s.slice(a, b);
    out += s.slice(at, a) + (piece === REDACTED_PEM ? piece : REDACTED_PEM);
    if (piece !== REDACTED_PEM) n++;
    at = b;
  }
  if (n) bump(counts, 'pem-private-key', n);
  return out + s.slice(at);
}

const shape = (prefix: string) => prefix.replace(/\d/g, '0');
/** The text before `i` on its line, if the line starts within PREFIX_MAX (linear: no scan to the text's start). */
function linePrefix(s: string, i: number): string | undefined {
  const from = Math.max(0, i - PREFIX_MAX);
  const k = s.slice(from, i).lastIndexOf('\n');
  if (k !== -1) return s.slice(from + k + 1, i);
  return from === 0 ? s.slice(0, i) : undefined;
}
/** A base64 chunk of at least `min` characters at `i`; its end, or -1. */
function chunkAt(s: string, i: number, limit: number, min: number): number {
  let j = i;
  while (j < limit && B64.test(s[j]!)) j++;
  return j - i >= min ? j : -1;
}

/** Where the key body after a BEGIN at [b0, b1) ends (`b1` when no body follows). */
function bodyAfter(s: string, b0: number, b1: number, limit: number): number {
  const prefix = shape(linePrefix(s, b0) ?? '');
  let at = b1;
  // An escape after the marker decides the mode; so does a line break (with the line's prefix) or a space.
  const esc = PEM_SEPARATORS.find((sep) => s.startsWith(sep, at));
  let last = b1;
  let chunks = 0;
  let usePrefix: boolean | undefined;
  for (;;) {
    let next: number;
    let min = 4;
    if (esc) {
      if (!s.startsWith(esc, at)) break;
      next = at + esc.length;
    } else if (s.startsWith('\n', at) || s.startsWith('\r\n', at)) {
      next = at + (s[at] === '\r' ? 2 : 1);
      // Body lines carry the marker line's prefix (a timestamp) or none (`key: -----BEGIN ...`): the
      // first body line decides which.
      const has = prefix !== '' && shape(s.slice(next, next + prefix.length)) === prefix;
      usePrefix ??= chunks ? undefined : has;
      if (usePrefix && !has) break;
      if (usePrefix) next += prefix.length;
      while (s[next] === ' ' || s[next] === '\t') next++;
      // PGP's armor headers (`Version: ...`) and the blank line after them, before the body only.
      const eol = s.indexOf('\n', next);
      const line = s.slice(next, eol === -1 ? limit : Math.min(eol, limit)).replace(/\r$/, '');
      if (line.trim() === '' || (!chunks && /^[A-Za-z-]{1,32}: /.test(line))) {
        if (eol === -1 || eol >= limit) break;
        at = eol;
        continue;
      }
    } else if (s[at] === ' ') {
      next = at + 1;
      min = 16;
    } else break;
    const end = chunkAt(s, next, limit, min);
    // In line mode a chunk is the whole line.
    if (end === -1) break;
    if (!esc && min === 4) {
      let t = end;
      while (s[t] === ' ' || s[t] === '\t') t++;
      if (t < s.length && s[t] !== '\n' && s[t] !== '\r') break;
    }
    last = end;
    at = end;
    chunks++;
    // A line break ends a chunk in line mode; trailing spaces before it are allowed.
    if (!esc) while (s[at] === ' ' && (s[at + 1] === '\n' || s[at + 1] === '\r')) at++;
  }
  return chunks ? last : b1;
}

/** Where the key body before an END at `e0` starts (`e0` when no body precedes it), not before `floor`. */
function bodyBefore(s: string, e0: number, floor: number): number {
  const esc = PEM_SEPARATORS.find((sep) => e0 - sep.length >= floor && s.startsWith(sep, e0 - sep.length));
  let start = e0;
  let at = e0;
  if (esc) {
    while (at - esc.length >= floor && s.startsWith(esc, at - esc.length)) {
      let j = at - esc.length;
      const chunkEnd = j;
      while (j > floor && B64.test(s[j - 1]!)) j--;
      // The `n` of an escape before the chunk is a base64 letter too: it belongs to the escape.
      for (let k = 1; k < esc.length && j + k <= chunkEnd; k++) {
        if (s.startsWith(esc, j + k - esc.length) && j + k - esc.length >= floor) {
          j += k;
          break;
        }
      }
      if (chunkEnd - j < 4) break;
      start = j;
      at = j;
    }
    return start;
  }
  // Plain lines: the END's line prefix (in shape) is on every body line; blank lines may come between.
  const own = linePrefix(s, e0);
  if (own === undefined) return e0;
  // The last body line may run into the END (`...=-----END`): it is body, and the lines have no prefix.
  const runIn = /^[ \t]*[A-Za-z0-9+/=]{4,}$/.test(own);
  if (runIn) start = e0 - own.length;
  if (e0 - own.length === 0) return start;
  const prefix = runIn ? '' : shape(own.replace(/[ \t]+$/, ''));
  let end = e0 - own.length - 1;
  while (end > floor) {
    const from = s.lastIndexOf('\n', end - 1) + 1;
    const line = s.slice(from, end).replace(/\r$/, '');
    if (from < floor) break;
    if (line.trim() !== '') {
      if (shape(line.slice(0, prefix.length)) !== prefix || !/^[ \t]*=?[A-Za-z0-9+/]{4,}={0,2}[ \t]*$/.test(line.slice(prefix.length))) break;
      start = from;
    }
    end = from - 1;
  }
  return start;
}

/** A flag naming a credential, alone in an argument list: `["--token", "x"]`. */
const FLAG = /^--?([\w.-]{1,128})$/;

/** Runs of base64/hex lines (wrapped at any column, indented, or `\n`-escaped in JSON). */
const WRAPPED = /(?<![A-Za-z0-9+/_=-])(?:[A-Za-z0-9+/_-]{4,1024}={0,2}(?:(?:\\r)?\\n|\r?\n)[ \t]{0,64}){1,100000}[A-Za-z0-9+/_=-]{1,1024}/g;
const WRAP_BREAK = /(?:(?:\\r)?\\n|\r?\n)[ \t]*/g;

export interface RedactorOptions {
  /** Values known to be secret (the AccessKey secret, the release's Secret data, registered secrets). */
  secrets: readonly string[];
  /** The user's --redact-extra patterns (global regexes). */
  extra?: readonly RegExp[];
}

/** Known secrets this short are found only as a whole word; shorter ones cannot be searched for. */
export const SHORT_SECRET_MIN = 4;
const BIG_SECRET = 1024;
/** Alternatives per compiled pattern: V8 refuses one regular expression beyond a size. */
const CHUNK_CHARS = 32_768;
const LONG_SECRET_MIN = 8;

export class Redactor {
  private readonly known: RegExp[];
  private readonly extra: readonly RegExp[];
  /** How many known secrets were too short (under SHORT_SECRET_MIN characters) to search for. */
  readonly unsearchable: number;

  constructor(opts: RedactorOptions) {
    const long = new Set<string>();
    const short = new Set<string>();
    let unsearchable = 0;
    for (const s of new Set(opts.secrets)) {
      if (!s) continue;
      // A long value (a certificate bundle, a config file) is searched raw and as base64; its lines
      // come as parts of their own (secretParts), and every form of it would make the pattern too big.
      if (s.length > BIG_SECRET) long.add(s).add(Buffer.from(s).toString('base64')).add(encodeURIComponent(s)).add(JSON.stringify(s).slice(1, -1));
      else if (s.length >= LONG_SECRET_MIN) for (const f of secretForms(s)) long.add(f);
      else if (s.length >= SHORT_SECRET_MIN) {
        // A short value replaced wherever it occurs would cut words apart; as a whole word it is safe.
        short.add(s).add(encodeURIComponent(s)).add(JSON.stringify(s).slice(1, -1));
        for (const f of secretForms(s)) long.add(f);
      } else unsearchable++;
    }
    this.unsearchable = unsearchable;
    const alts = [...long].sort((a, b) => b.length - a.length).map(escapeRegExp);
    const word = [...short].filter((s) => !long.has(s)).sort((a, b) => b.length - a.length).map(escapeRegExp);
    if (word.length) alts.push(`(?<![A-Za-z0-9_])(?:${word.join('|')})(?![A-Za-z0-9_])`);
    // Alternations, longest first, so a longer form is replaced before a shorter one inside it; cut
    // into patterns V8 accepts (one regular expression has a size limit).
    this.known = [];
    let chunk: string[] = [];
    let size = 0;
    for (const a of alts) {
      if (chunk.length && size + a.length > CHUNK_CHARS) {
        this.known.push(new RegExp(chunk.join('|'), 'g'));
        chunk = [];
        size = 0;
      }
      chunk.push(a);
      size += a.length + 1;
    }
    if (chunk.length) this.known.push(new RegExp(chunk.join('|'), 'g'));
    this.extra = opts.extra ?? [];
  }

  /** Layers 2 and 3 on text (a log, a manifest, one string leaf). */
  text(s: string, counts: RedactionCounts): string {
    let out = redactPem(this.knownForms(s, counts), counts);
    for (const p of PATTERNS) out = replaceCounting(out, p.re, p.rule, counts, p.replace);
    this.extra.forEach((re, i) => {
      out = replaceCounting(out, re, `redact-extra-${i + 1}`, counts, () => REDACTED);
    });
    return out;
  }

  /** Layer 2 only: every form of a known secret, also split across the lines of a wrapped text. */
  knownForms(s: string, counts: RedactionCounts): string {
    const known = this.known;
    if (!known.length) return s;
    let direct = s;
    for (const re of known) direct = replaceCounting(direct, re, 'known-secret', counts, () => REDACTED);
    // A wrapped run is searched joined; what matched is cut from the run as it is, line breaks and all.
    return replaceCounting(direct, WRAPPED, 'known-secret', counts, (m) => redactWrapped(m, known));
  }

  /** All three layers on an object, serialized as JSON (two-space indent). */
  json(v: unknown, counts: RedactionCounts): string {
    // Leaves are scrubbed one by one (patterns never see JSON syntax); then the serialized text once
    // more for the known forms, which catches a secret that only JSON escaping made whole.
    return this.knownForms(JSON.stringify(this.object(v, counts), null, 2), counts);
  }

  /** Layer 1 with layers 2-3 on every string leaf and key. */
  object(v: unknown, counts: RedactionCounts): unknown {
    return this.walk(v, counts, false);
  }

  private walk(v: unknown, counts: RedactionCounts, sensitive: boolean): unknown {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') {
      // A number under `password:` is a password too; booleans and null say nothing secret.
      if (sensitive && v !== '' && v !== REDACTED) {
        bump(counts, 'sensitive-key');
        return REDACTED;
      }
      return typeof v === 'string' ? this.text(v, counts) : v;
    }
    if (Array.isArray(v)) return this.walkArray(v, counts, sensitive);
    if (!isMap(v)) return v;
    const isSecret = v['kind'] === 'Secret' && (isMap(v['data']) || isMap(v['stringData']));
    // env-style entries: {name: DB_PASS, value}, {key: password, value}, {Name, Value}.
    const label = ['name', 'Name', 'key', 'Key'].map((k) => v[k]).find((x): x is string => typeof x === 'string');
    const envSensitive = label !== undefined && ('value' in v || 'Value' in v) && (isSensitiveName(label) || AUTH_HEADER.test(label));
    const refLike = Object.keys(v).some((k) => k !== 'name' && isReferenceName(k));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'managedFields') continue;
      if (k === 'annotations' && isMap(x) && 'kubectl.kubernetes.io/last-applied-configuration' in x) {
        const { ['kubectl.kubernetes.io/last-applied-configuration']: _dropped, ...rest } = x;
        out[k] = this.walk(rest, counts, sensitive);
        continue;
      }
      if (isSecret && (k === 'data' || k === 'stringData') && isMap(x)) {
        out[k] = Object.fromEntries(Object.keys(x).map((dk) => [this.text(dk, counts), REDACTED]));
        const n = Object.values(x).filter((dv) => dv !== REDACTED).length;
        if (n) bump(counts, 'secret-data', n);
        continue;
      }
      if (envSensitive && (k === 'value' || k === 'Value') && (typeof x === 'string' || typeof x === 'number') && x !== '' && x !== REDACTED) {
        out[k] = REDACTED;
        bump(counts, 'sensitive-env');
        continue;
      }
      // Inside a sensitive map, a key that names or points at something (secretName) is kept.
      // `Authorization: Token x` as a map entry (header maps): the scheme stays.
      if (AUTH_HEADER.test(k) && (typeof x === 'string' || (Array.isArray(x) && x.every((y) => typeof y === 'string')))) {
        out[k] = Array.isArray(x) ? x.map((y: string) => authorizationValue(y, counts)) : authorizationValue(x, counts);
        continue;
      }
      // A sensitive name covers everything under it, but for names that point at a credential
      // (secretName, path) and below a map that is such a pointer (`secret: {secretName, defaultMode,
      // items}` is a volume, not a credential).
      out[this.text(k, counts)] = this.walk(x, counts, (sensitive && !isReferenceName(k) && !(refLike && POINTER_KEYS.has(k))) || isSensitiveName(k));
    }
    return out;
  }

  /** An argument list: the value after a flag that names a credential (`"--token", "x"`) goes. */
  private walkArray(v: readonly unknown[], counts: RedactionCounts, sensitive: boolean): unknown[] {
    const out: unknown[] = [];
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      out.push(this.walk(x, counts, sensitive));
      const flag = typeof x === 'string' ? FLAG.exec(x) : null;
      const next = v[i + 1];
      if (flag && isSensitiveName(flag[1]!) && typeof next === 'string' && next !== '' && !next.startsWith('-') && next !== REDACTED) {
        out.push(REDACTED);
        bump(counts, 'sensitive-argument');
        i++;
      }
    }
    return out;
  }
}

/** `run` with every match of `known` in its joined text (breaks removed) replaced, or undefined if none. */
function redactWrapped(run: string, known: readonly RegExp[]): string | undefined {
  // at[i]: where the i-th character of the joined text is in the run.
  const at: number[] = [];
  let joined = '';
  let last = 0;
  WRAP_BREAK.lastIndex = 0;
  for (let m = WRAP_BREAK.exec(run); m; m = WRAP_BREAK.exec(run)) {
    for (let i = last; i < m.index; i++) at.push(i);
    joined += run.slice(last, m.index);
    last = m.index + m[0].length;
  }
  for (let i = last; i < run.length; i++) at.push(i);
  joined += run.slice(last);
  const spans: Array<[number, number]> = [];
  for (const re of known) {
    re.lastIndex = 0;
    for (let m = re.exec(joined); m; m = re.exec(joined)) {
      if (m[0] === '') {
        re.lastIndex++;
        continue;
      }
      spans.push([at[m.index]!, at[m.index + m[0].length - 1]! + 1]);
    }
  }
  // Matches of several patterns may overlap: one span each where they do.
  spans.sort((a, b) => a[0] - b[0]);
  for (let k = 1; k < spans.length; k++) {
    if (spans[k]![0] < spans[k - 1]![1]) {
      spans[k - 1]![1] = Math.max(spans[k - 1]![1], spans[k]![1]);
      spans.splice(k--, 1);
    }
  }
  if (!spans.length) return undefined;
  let out = '';
  let from = 0;
  for (const [a, b] of spans) {
    out += run.slice(from, a) + REDACTED;
    from = b;
  }
  return out + run.slice(from);
}

function bump(counts: RedactionCounts, rule: RedactionRule, n = 1): void {
  counts[rule] = (counts[rule] ?? 0) + n;
}

function replaceCounting(s: string, re: RegExp, rule: RedactionRule, counts: RedactionCounts, replace: Replace): string {
  re.lastIndex = 0;
  if (!re.test(s)) return s;
  re.lastIndex = 0;
  let n = 0;
  const out = s.replace(re, (m: string, ...rest: unknown[]) => {
    // The groups come first, then the offset (a number); named groups would add an object after it.
    const end = rest.findIndex((x) => typeof x === 'number');
    const r = replace(m, rest.slice(0, end) as Array<string | undefined>);
    if (r === undefined) return m;
    n++;
    return r;
  });
  if (n) bump(counts, rule, n);
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Add one file's counts to a total. */
export function addCounts(total: RedactionCounts, more: RedactionCounts): void {
  for (const [k, n] of Object.entries(more) as Array<[RedactionRule, number]>) bump(total, k, n);
}

/**
 * What to search for, given one secret value: the value, and for a multi-line value (a config file,
 * an env file in a Secret) each line and each line's `key=value` / `key: value` value, which a log
 * may print on its own.
 */
export function secretParts(value: string): string[] {
  const out = new Set<string>([value]);
  const learn = (name: string, v: string) => {
    if ((v.length >= SHORT_SECRET_MIN && isSensitiveName(name)) || (v.length >= LONG_SECRET_MIN && /[A-Za-z]/.test(v) && /\d/.test(v))) out.add(v);
  };
  // A JSON document (a service-account key, a client config): each string leaf, by its name.
  if (/^\s*[{[]/.test(value)) {
    try {
      const walk = (v: unknown, name: string) => {
        if (typeof v === 'string' || typeof v === 'number') learn(name, String(v));
        else if (Array.isArray(v)) v.forEach((x) => walk(x, name));
        else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
      };
      walk(JSON.parse(value), '');
    } catch {
      // Not JSON: the lines below.
    }
  }
  if (value.includes('\n')) {
    for (const line of value.split(/\r?\n/)) {
      const t = line.trim();
      // Section headers and comments say nothing secret.
      if (t.length < LONG_SECRET_MIN || /^[[#;]/.test(t)) continue;
      out.add(t);
      // A line's value alone under a sensitive name, or when it looks like a key or a code (8 or more
      // characters, letters and digits): `PORT=5432` or `host = db.internal` would redact every 5432.
      // `export KEY=value`, `"key": "value",` and `key = value ; comment` alike.
      const kv = /^(?:export[ \t]+)?["']?([^=:\s"']{1,256})["']?[ \t]*[=:][ \t]*(.+?)[ \t]*[,;]?(?:[ \t]+[#;].*)?$/.exec(t);
      const v = kv?.[2]?.trim().replace(/^(["'])(.*)\1$/, '$2');
      if (kv && v) learn(kv[1]!, v);
      // And uncut: `DB_PASSWORD=pass #1word` may be the whole password.
      const whole = /^(?:export[ \t]+)?["']?([^=:\s"']{1,256})["']?[ \t]*[=:][ \t]*(.+)$/.exec(t);
      if (whole?.[2]) learn(whole[1]!, whole[2].trim());
    }
  }
  return [...out];
}

/**
 * A --redact-extra pattern, compiled: one that does not compile, or that matches the empty string
 * (it would put [REDACTED] between every two characters), is refused. The pattern itself is never
 * echoed: it may hold the very text the user wants hidden.
 */
export function compileExtraPattern(pattern: string): RegExp | string {
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'g');
  } catch {
    return 'is not a valid regular expression';
  }
  if (new RegExp(pattern).test('')) return 'matches the empty text, so it would redact everything';
  return re;
}
