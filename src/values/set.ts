/**
 * `--set` and `--set-string`, with helm's strvals rules (helm.sh/helm/v3/pkg/strvals): `a.b=c`, `a[0]=x`,
 * `a[0].b=y`, `a={x,y}`, several pairs separated by commas, `\` escapes the next character (`a=x\,y`,
 * `a\.b=c`). Values are typed like helm's --set (true/false/null/integers) unless `asString`
 * (--set-string). No I/O.
 */
import { InsightError } from '../errors.js';
import { redact } from '../secret.js';
import { isMap, type Values } from './tree.js';

class Cursor {
  i = 0;
  /** How deep the key nests (a.b[0].c is 3): bounded, so a pathological key is an error, not a crash. */
  depth = 0;
  constructor(readonly s: string) {}
  get done(): boolean {
    return this.i >= this.s.length;
  }
  /** Read up to (not including) one of `stops`, unescaping `\x`; consume the stop character. */
  until(stops: string): { text: string; stop: string | undefined } {
    let text = '';
    while (this.i < this.s.length) {
      const ch = this.s[this.i++]!;
      if (ch === '\\' && this.i < this.s.length) {
        text += this.s[this.i++]!;
        continue;
      }
      if (stops.includes(ch)) return { text, stop: ch };
      text += ch;
    }
    return { text, stop: undefined };
  }
  peek(): string | undefined {
    return this.s[this.i];
  }
}

/** helm's typedVal. */
function typedValue(raw: string, asString: boolean): unknown {
  if (asString) return raw;
  const l = raw.toLowerCase();
  if (l === 'true') return true;
  if (l === 'false') return false;
  if (l === 'null') return null;
  if (raw === '0') return 0;
  if (raw.length > 0 && raw[0] !== '0' && /^[-+]?\d+$/.test(raw)) {
    const n = Number(raw);
    // helm parses int64; beyond JS's safe range keep the digits as a string rather than lose them.
    return Number.isSafeInteger(n) ? n : raw;
  }
  return raw;
}

const MAX_INDEX = 65536; // helm's limit, so `a[99999999]=x` cannot allocate a huge list
const MAX_DEPTH = 100;

function deeper(c: Cursor, expr: string): void {
  if (++c.depth > MAX_DEPTH) throw setError(expr, `the key nests deeper than ${MAX_DEPTH} levels`);
}

function setError(expr: string, why: string): InsightError {
  // A long expression is cut: the error stays one readable line.
  const r = redact(expr);
  const shown = r.length > 80 ? `${r.slice(0, 60)}…` : r;
  return new InsightError('usage', `cannot parse --set ${shown}: ${why}`, { hint: 'Use helm\'s syntax: key=value, a.b=c, list[0]=x, list={a,b}; escape commas and dots with \\.' });
}

function parseIndex(c: Cursor, expr: string): number {
  const { text, stop } = c.until(']');
  if (stop !== ']') throw setError(expr, 'missing ]');
  if (!/^\d+$/.test(text)) throw setError(expr, `list index "${text}" is not a number`);
  const n = Number(text);
  if (n > MAX_INDEX) throw setError(expr, `list index ${n} is larger than ${MAX_INDEX}`);
  return n;
}

function readValue(c: Cursor, expr: string, asString: boolean): unknown {
  if (c.peek() === '{') {
    c.i++;
    const list: unknown[] = [];
    for (;;) {
      const { text, stop } = c.until(',}');
      if (stop === undefined) throw setError(expr, 'list is missing }');
      if (!(text === '' && stop === '}' && list.length === 0)) list.push(typedValue(text, asString));
      if (stop === '}') break;
    }
    // after the list: end, or a comma before the next pair
    const next = c.until(',');
    if (next.text !== '') throw setError(expr, 'unexpected text after }');
    return list;
  }
  return typedValue(c.until(',').text, asString);
}

function setListItem(list: unknown[], index: number, c: Cursor, expr: string, asString: boolean): void {
  while (list.length <= index) list.push(null);
  const ch = c.s[c.i++];
  if (ch === '=') {
    list[index] = readValue(c, expr, asString);
  } else if (ch === '.') {
    deeper(c, expr);
    const inner = isMap(list[index]) ? list[index] : {};
    list[index] = inner;
    parseKey(c, inner, expr, asString);
  } else if (ch === '[') {
    deeper(c, expr);
    const inner = Array.isArray(list[index]) ? (list[index] as unknown[]) : [];
    list[index] = inner;
    setListItem(inner, parseIndex(c, expr), c, expr, asString);
  } else {
    throw setError(expr, 'expected = . or [ after ]');
  }
}

function parseKey(c: Cursor, data: Values, expr: string, asString: boolean): void {
  const { text: key, stop } = c.until('=[,.');
  if (stop === undefined) {
    if (key === '') return;
    throw setError(expr, `key "${key}" has no value`);
  }
  if (key === '') throw setError(expr, 'empty key');
  switch (stop) {
    case ',':
      throw setError(expr, `key "${key}" has no value`);
    case '=':
      data[key] = readValue(c, expr, asString);
      return;
    case '.': {
      deeper(c, expr);
      const inner = isMap(data[key]) ? data[key] : {};
      data[key] = inner;
      parseKey(c, inner, expr, asString);
      return;
    }
    case '[': {
      deeper(c, expr);
      const list = Array.isArray(data[key]) ? (data[key] as unknown[]) : [];
      data[key] = list;
      setListItem(list, parseIndex(c, expr), c, expr, asString);
      return;
    }
  }
}

/** Apply one `--set` (or `--set-string`) expression to `tree`, in place. */
export function applySet(tree: Values, expr: string, asString = false): void {
  const c = new Cursor(expr);
  while (!c.done) {
    c.depth = 0;
    parseKey(c, tree, expr, asString);
  }
}

/** The keys one --set expression sets, as dotted paths (list indices dropped). */
export function setPaths(expr: string): string[] {
  const t: Values = {};
  applySet(t, expr);
  const out: string[] = [];
  const walk = (v: unknown, p: string) => {
    if (isMap(v) && Object.keys(v).length) for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    else if (Array.isArray(v) && v.some((x) => isMap(x))) v.forEach((x) => walk(x, p));
    else out.push(p);
  };
  walk(t, '');
  return out;
}
