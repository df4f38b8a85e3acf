/**
 * The PromQL subset the stand-in's Prometheus HTTP API evaluates, with Prometheus semantics:
 *
 *   vector selectors      name{l="v", l!="v", l=~"re", l!~"re"}, {__name__="x"} (regexes fully anchored, dot matches \n)
 *   instant selector      newest sample in (time-5m, time]; the metric keeps __name__
 *   last_over_time(s[d])  newest sample in (time-d, time]; __name__ dropped (d: 1h30m, 5m, 300s, 500ms, 1d, 1w, 1y, or seconds)
 *   timestamp(e)          for an instant selector, the sample's own time in seconds; otherwise the evaluation time;
 *                         __name__ dropped
 *   count/max/min/sum     with `by (..)` / `without (..)`, before or after the argument
 *   ( e )                 parentheses
 *
 * Everything else (binary operators, number literals, offset/@, other functions, subqueries, range
 * vectors outside last_over_time) is refused with a bad_data error, like an invalid query.
 * A tokenizer and a recursive-descent parser, then a tree-walking evaluator; no regex soup.
 */

export interface Sample {
  /** Milliseconds since the epoch. */
  t: number;
  v: number;
}

export interface Series {
  /** Includes `__name__`. */
  labels: Record<string, string>;
  samples: Sample[];
}

/** What Prometheus answers with: `bad_data` (HTTP 400) for a query it cannot parse, `execution` (422) when evaluation fails. */
export class PromQLError extends Error {
  constructor(
    message: string,
    readonly errorType: 'bad_data' | 'execution' = 'bad_data',
  ) {
    super(message);
  }
}

export const LOOKBACK_MS = 5 * 60 * 1000;

// ---- tokenizer ---------------------------------------------------------------------------------

type TokKind = 'ident' | 'string' | 'number' | 'duration' | 'op' | 'punct' | 'eof';
interface Token {
  kind: TokKind;
  text: string;
  /** Decoded value of a string literal. */
  value?: string;
  pos: number;
}

const parseError = (pos: number, msg: string) => new PromQLError(`1:${pos + 1}: parse error: ${msg}`);

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (/[A-Za-z_:]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_:]/.test(src[i]!)) i++;
      out.push({ kind: 'ident', text: src.slice(start, i), pos: start });
    } else if (/[0-9.]/.test(c)) {
      while (i < src.length && /[0-9.]/.test(src[i]!)) i++;
      if (i < src.length && /[a-z]/.test(src[i]!)) {
        while (i < src.length && /[0-9a-z]/.test(src[i]!)) i++;
        out.push({ kind: 'duration', text: src.slice(start, i), pos: start });
      } else {
        out.push({ kind: 'number', text: src.slice(start, i), pos: start });
      }
    } else if (c === '"' || c === "'" || c === '`') {
      i++;
      let value = '';
      for (;;) {
        if (i >= src.length) throw parseError(start, 'unterminated quoted string');
        const ch = src[i]!;
        if (ch === c) break;
        if (ch === '\\' && c !== '`') {
          const e = src[i + 1];
          if (e === undefined || ESCAPES[e] === undefined) throw parseError(i, `unknown escape sequence \\${e ?? ''}`);
          value += ESCAPES[e];
          i += 2;
          continue;
        }
        value += ch;
        i++;
      }
      i++;
      out.push({ kind: 'string', text: src.slice(start, i), value, pos: start });
    } else if (src.startsWith('=~', i) || src.startsWith('!~', i) || src.startsWith('!=', i) || src.startsWith('==', i) || src.startsWith('>=', i) || src.startsWith('<=', i)) {
      i += 2;
      out.push({ kind: 'op', text: src.slice(start, i), pos: start });
    } else if ('=+-*/%^<>'.includes(c)) {
      i++;
      out.push({ kind: 'op', text: c, pos: start });
    } else if ('{}()[],@'.includes(c)) {
      i++;
      out.push({ kind: 'punct', text: c, pos: start });
    } else {
      throw parseError(start, `unexpected character: '${c}'`);
    }
  }
  out.push({ kind: 'eof', text: '', pos: src.length });
  return out;
}

// ---- syntax tree and parser --------------------------------------------------------------------

export type MatchOp = '=' | '!=' | '=~' | '!~';
export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  re?: RegExp;
}

export type Expr =
  | { kind: 'selector'; matchers: Matcher[]; rangeMs?: number; pos: number }
  | { kind: 'call'; fn: 'timestamp' | 'last_over_time'; arg: Expr; pos: number }
  | { kind: 'agg'; op: AggOp; grouping?: { mode: 'by' | 'without'; labels: string[] }; arg: Expr; pos: number };

const AGG_OPS = ['count', 'max', 'min', 'sum'] as const;
type AggOp = (typeof AGG_OPS)[number];
const OTHER_AGG_OPS = ['avg', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio'];
const FUNCTIONS = ['timestamp', 'last_over_time'] as const;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

function parseDuration(tok: Token): number {
  if (tok.kind === 'number') {
    const s = Number(tok.text);
    if (!Number.isFinite(s) || s <= 0) throw parseError(tok.pos, `invalid duration "${tok.text}"`);
    return Math.round(s * 1000);
  }
  let ms = 0;
  let last = Infinity;
  const re = /([0-9]+)(ms|s|m|h|d|w|y)/y;
  let at = 0;
  while (at < tok.text.length) {
    re.lastIndex = at;
    const m = re.exec(tok.text);
    const unit = m ? DURATION_UNITS[m[2]!]! : undefined;
    // Units must come largest first, each at most once (Prometheus' rule).
    if (!m || unit === undefined || unit >= last) throw parseError(tok.pos, `not a valid duration string: "${tok.text}"`);
    ms += Number(m[1]) * unit;
    last = unit;
    at = re.lastIndex;
  }
  if (ms <= 0) throw parseError(tok.pos, `duration must be greater than 0`);
  return ms;
}

function compileMatcher(name: string, op: MatchOp, value: string, pos: number): Matcher {
  if (op === '=' || op === '!=') return { name, op, value };
  try {
    // Prometheus anchors the whole expression and lets `.` match newlines: ^(?s:re)$.
    return { name, op, value, re: new RegExp(`^(?:${value})$`, 's') };
  } catch (e) {
    throw parseError(pos, `invalid regular expression "${value}": ${(e as Error).message}`);
  }
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of input';
  if (t.kind === 'string') return `string ${t.text}`;
  if (t.kind === 'number') return `number "${t.text}"`;
  if (t.kind === 'duration') return `duration "${t.text}"`;
  if (t.kind === 'ident') return `identifier "${t.text}"`;
  return `"${t.text}"`;
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(k = 0): Token {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (this.i < this.toks.length - 1) this.i++;
    return t;
  }
  private is(text: string, k = 0): boolean {
    const t = this.peek(k);
    return (t.kind === 'punct' || t.kind === 'op') && t.text === text;
  }
  private expect(text: string, context: string): Token {
    const t = this.next();
    if ((t.kind !== 'punct' && t.kind !== 'op') || t.text !== text) throw parseError(t.pos, `unexpected ${describe(t)} in ${context}, expected "${text}"`);
    return t;
  }

  parseQuery(): Expr {
    if (this.peek().kind === 'eof') throw parseError(0, 'no expression found in input');
    const e = this.parseExpr();
    const t = this.peek();
    if (t.kind === 'op') throw parseError(t.pos, `binary operator "${t.text}" is not supported by the stand-in`);
    if (t.kind === 'ident' && (t.text === 'offset' || t.text === 'by' || t.text === 'without')) throw parseError(t.pos, `unexpected ${describe(t)}`);
    if (t.kind === 'punct' && t.text === '@') throw parseError(t.pos, 'the @ modifier is not supported by the stand-in');
    if (t.kind !== 'eof') throw parseError(t.pos, `unexpected ${describe(t)}`);
    return e;
  }

  private parseExpr(): Expr {
    const t = this.peek();
    if (t.kind === 'punct' && t.text === '(') {
      this.next();
      const inner = this.parseExpr();
      this.expect(')', 'paren expression');
      if (this.is('[')) throw parseError(this.peek().pos, 'subqueries are not supported by the stand-in');
      return inner;
    }
    if (t.kind === 'number') throw parseError(t.pos, 'number literals are not supported by the stand-in');
    if (t.kind === 'string') throw parseError(t.pos, 'string literals are not supported by the stand-in');
    if (t.kind === 'op' && (t.text === '-' || t.text === '+')) throw parseError(t.pos, 'unary operators are not supported by the stand-in');
    if (t.kind === 'ident') {
      const isAgg = (AGG_OPS as readonly string[]).includes(t.text) || OTHER_AGG_OPS.includes(t.text);
      if (isAgg && (this.is('(', 1) || (this.peek(1).kind === 'ident' && ['by', 'without'].includes(this.peek(1).text)))) return this.parseAggregation();
      if (this.is('(', 1)) return this.parseCall();
    }
    if (t.kind === 'ident' || (t.kind === 'punct' && t.text === '{')) return this.parseSelector();
    throw parseError(t.pos, `unexpected ${describe(t)}`);
  }

  private parseGrouping(): { mode: 'by' | 'without'; labels: string[] } {
    const mode = this.next().text as 'by' | 'without';
    this.expect('(', 'grouping');
    const labels: string[] = [];
    while (!this.is(')')) {
      const l = this.next();
      if (l.kind !== 'ident' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(l.text)) throw parseError(l.pos, `unexpected ${describe(l)} in grouping opts, expected label`);
      labels.push(l.text);
      if (!this.is(')')) this.expect(',', 'grouping opts');
    }
    this.next();
    return { mode, labels };
  }

  private atGrouping(): boolean {
    const t = this.peek();
    return t.kind === 'ident' && (t.text === 'by' || t.text === 'without');
  }

  private parseAggregation(): Expr {
    const opTok = this.next();
    if (!(AGG_OPS as readonly string[]).includes(opTok.text)) throw parseError(opTok.pos, `aggregation "${opTok.text}" is not supported by the stand-in (supported: ${AGG_OPS.join(', ')})`);
    let grouping = this.atGrouping() ? this.parseGrouping() : undefined;
    this.expect('(', 'aggregation');
    const arg = this.parseExpr();
    if (this.is(',')) throw parseError(this.peek().pos, `wrong number of arguments for aggregate expression provided, expected 1, got 2`);
    this.expect(')', 'aggregation');
    if (this.atGrouping()) {
      if (grouping) throw parseError(this.peek().pos, 'unexpected grouping: it was already given before the argument');
      grouping = this.parseGrouping();
    }
    if (arg.kind === 'selector' && arg.rangeMs !== undefined) throw parseError(arg.pos, 'expected type instant vector in aggregation expression, got range vector');
    return { kind: 'agg', op: opTok.text as AggOp, ...(grouping ? { grouping } : {}), arg, pos: opTok.pos };
  }

  private parseCall(): Expr {
    const fnTok = this.next();
    const fn = fnTok.text;
    if (!(FUNCTIONS as readonly string[]).includes(fn)) throw parseError(fnTok.pos, `function "${fn}" is not supported by the stand-in (supported: ${FUNCTIONS.join(', ')})`);
    this.expect('(', 'function call');
    if (this.is(')')) throw parseError(this.peek().pos, `expected 1 argument(s) in call to "${fn}", got 0`);
    const arg = this.parseExpr();
    if (this.is(',')) throw parseError(this.peek().pos, `expected 1 argument(s) in call to "${fn}", got more`);
    this.expect(')', 'function call');
    const isRange = arg.kind === 'selector' && arg.rangeMs !== undefined;
    if (fn === 'last_over_time' && !isRange) throw parseError(arg.pos, `expected type range vector in call to function "${fn}", got instant vector`);
    if (fn === 'timestamp' && isRange) throw parseError(arg.pos, `expected type instant vector in call to function "${fn}", got range vector`);
    return { kind: 'call', fn: fn as 'timestamp' | 'last_over_time', arg, pos: fnTok.pos };
  }

  private parseSelector(): Expr {
    const start = this.peek().pos;
    const matchers: Matcher[] = [];
    let metricName: string | undefined;
    if (this.peek().kind === 'ident') {
      const t = this.next();
      if (['by', 'without', 'offset', 'bool', 'on', 'ignoring', 'group_left', 'group_right'].includes(t.text)) throw parseError(t.pos, `unexpected ${describe(t)}`);
      metricName = t.text;
      matchers.push({ name: '__name__', op: '=', value: t.text });
    }
    if (this.is('{')) {
      this.next();
      while (!this.is('}')) {
        const l = this.next();
        if (l.kind !== 'ident' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(l.text)) throw parseError(l.pos, `unexpected ${describe(l)} in label matching, expected label`);
        const op = this.next();
        if (op.kind !== 'op' || !['=', '!=', '=~', '!~'].includes(op.text)) throw parseError(op.pos, `unexpected ${describe(op)} in label matching, expected one of "=", "!=", "=~" or "!~"`);
        const v = this.next();
        if (v.kind !== 'string') throw parseError(v.pos, `unexpected ${describe(v)} in label matching, expected string`);
        if (l.text === '__name__' && metricName !== undefined) throw parseError(l.pos, `metric name must not be set twice: "${metricName}" or "${v.value!}"`);
        matchers.push(compileMatcher(l.text, op.text as MatchOp, v.value!, v.pos));
        if (!this.is('}')) this.expect(',', 'label matching');
      }
      this.next();
    }
    if (!matchers.some((m) => !matches(m, ''))) throw parseError(start, 'vector selector must contain at least one non-empty matcher');
    let rangeMs: number | undefined;
    if (this.is('[')) {
      this.next();
      const d = this.next();
      if (d.kind !== 'duration' && d.kind !== 'number') throw parseError(d.pos, `unexpected ${describe(d)} in range selector, expected duration`);
      rangeMs = parseDuration(d);
      if (this.peek().kind === 'ident' && this.peek().text.startsWith(':')) throw parseError(this.peek().pos, 'subqueries are not supported by the stand-in');
      this.expect(']', 'range selector');
    }
    if (this.peek().kind === 'ident' && this.peek().text === 'offset') throw parseError(this.peek().pos, 'the offset modifier is not supported by the stand-in');
    return { kind: 'selector', matchers, ...(rangeMs !== undefined ? { rangeMs } : {}), pos: start };
  }

  /** For the series/labels endpoints: exactly one vector selector, nothing else. */
  parseSeriesSelector(): Matcher[] {
    const t = this.peek();
    if (t.kind !== 'ident' && !(t.kind === 'punct' && t.text === '{')) throw parseError(t.pos, `unexpected ${describe(t)}, expected a vector selector`);
    const e = this.parseSelector();
    if (e.kind !== 'selector' || e.rangeMs !== undefined || this.peek().kind !== 'eof') throw parseError(this.peek().pos, 'expected a plain vector selector (no range, function or operator)');
    return e.matchers;
  }
}

export function parsePromQL(query: string): Expr {
  return new Parser(tokenize(query)).parseQuery();
}

export function parseSeriesSelector(selector: string): Matcher[] {
  return new Parser(tokenize(selector)).parseSeriesSelector();
}

// ---- evaluation --------------------------------------------------------------------------------

function matches(m: Matcher, v: string): boolean {
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return m.re!.test(v);
    case '!~':
      return !m.re!.test(v);
  }
}

/** A missing label matches as the empty string, as in Prometheus. */
export function seriesMatches(labels: Record<string, string>, matchers: readonly Matcher[]): boolean {
  return matchers.every((m) => matches(m, labels[m.name] ?? ''));
}

interface VSample {
  metric: Record<string, string>;
  v: number;
  /** The sample's own time (ms); the evaluation time for computed samples. */
  t: number;
}

function newestIn(s: Series, fromExclusive: number, toInclusive: number): Sample | undefined {
  let best: Sample | undefined;
  for (const x of s.samples) if (x.t > fromExclusive && x.t <= toInclusive && (!best || x.t > best.t)) best = x;
  return best;
}

const dropName = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== '__name__'));
export const labelsKey = (m: Record<string, string>) =>
  JSON.stringify(
    Object.keys(m)
      .sort()
      .map((k) => [k, m[k]]),
  );

function assertUniqueLabelsets(v: VSample[]): VSample[] {
  const seen = new Set<string>();
  for (const s of v) {
    const k = labelsKey(s.metric);
    if (seen.has(k)) throw new PromQLError('vector cannot contain metrics with the same labelset', 'execution');
    seen.add(k);
  }
  return v;
}

function evaluate(e: Expr, timeMs: number, data: readonly Series[]): VSample[] {
  switch (e.kind) {
    case 'selector': {
      const window = e.rangeMs ?? LOOKBACK_MS;
      const out: VSample[] = [];
      for (const s of data) {
        if (!seriesMatches(s.labels, e.matchers)) continue;
        const x = newestIn(s, timeMs - window, timeMs);
        if (x) out.push({ metric: { ...s.labels }, v: x.v, t: x.t });
      }
      return out;
    }
    case 'call': {
      const inner = evaluate(e.arg, timeMs, data);
      if (e.fn === 'last_over_time') return assertUniqueLabelsets(inner.map((s) => ({ metric: dropName(s.metric), v: s.v, t: timeMs })));
      // timestamp(): the sample's own time for a selector argument, the evaluation time otherwise.
      const own = e.arg.kind === 'selector';
      return assertUniqueLabelsets(inner.map((s) => ({ metric: dropName(s.metric), v: (own ? s.t : timeMs) / 1000, t: timeMs })));
    }
    case 'agg': {
      const inner = evaluate(e.arg, timeMs, data);
      const groups = new Map<string, { metric: Record<string, string>; values: number[] }>();
      for (const s of inner) {
        let metric: Record<string, string>;
        if (!e.grouping) metric = {};
        else if (e.grouping.mode === 'by') metric = Object.fromEntries(e.grouping.labels.filter((l) => s.metric[l] !== undefined && s.metric[l] !== '').map((l) => [l, s.metric[l]!]));
        else metric = Object.fromEntries(Object.entries(s.metric).filter(([k]) => k !== '__name__' && !e.grouping!.labels.includes(k)));
        const k = labelsKey(metric);
        const g = groups.get(k) ?? { metric, values: [] };
        g.values.push(s.v);
        groups.set(k, g);
      }
      const fold = (vs: number[]): number => {
        switch (e.op) {
          case 'count':
            return vs.length;
          case 'sum':
            return vs.reduce((a, b) => a + b, 0);
          case 'max':
            return vs.reduce((a, b) => (Number.isNaN(a) || b > a ? b : a));
          case 'min':
            return vs.reduce((a, b) => (Number.isNaN(a) || b < a ? b : a));
        }
      };
      return [...groups.values()].map((g) => ({ metric: g.metric, v: fold(g.values), t: timeMs }));
    }
  }
}

/** Prometheus' float formatting for sample values. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export interface VectorResult {
  resultType: 'vector';
  result: { metric: Record<string, string>; value: [number, string] }[];
}

/** Evaluate an instant query at `timeMs`. Results are sorted by label set (Prometheus leaves the order open). */
export function instantQuery(query: string, timeMs: number, data: readonly Series[]): VectorResult {
  const expr = parsePromQL(query);
  if (expr.kind === 'selector' && expr.rangeMs !== undefined) {
    throw new PromQLError('1:1: parse error: the stand-in evaluates range selectors only inside last_over_time()');
  }
  const v = evaluate(expr, timeMs, data).sort((a, b) => (labelsKey(a.metric) < labelsKey(b.metric) ? -1 : labelsKey(a.metric) > labelsKey(b.metric) ? 1 : 0));
  return { resultType: 'vector', result: v.map((s) => ({ metric: s.metric, value: [timeMs / 1000, formatValue(s.v)] })) };
}
