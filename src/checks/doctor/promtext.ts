/**
 * A small strict validator for the Prometheus text exposition format (0.0.4) and the parts of
 * OpenMetrics a scraper meets (`# EOF`, `# UNIT`). It answers the two questions doctor asks of a
 * /metrics body: would a scraper accept it, and which metric families does it hold. It does not
 * keep sample values, so a 1 MB body costs one pass and no retained memory.
 */

export interface PromTextResult {
  valid: boolean;
  /** The first few problems, with 1-based line numbers. */
  errors: string[];
  /** Metric names seen in samples and in # TYPE / # HELP lines. */
  names: Set<string>;
  samples: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped', 'unknown', 'gaugehistogram', 'stateset', 'info']);

function isValue(v: string): boolean {
  if (/^[+-]?(Inf|inf|NaN|nan)$/.test(v)) return true;
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) || /^[+-]?0x[0-9a-fA-F]+$/.test(v);
}

/** Parse `{a="b",c="d"}` starting at s[i] === '{'; returns the index after '}' or an error. */
function parseLabels(s: string, i: number): { end: number } | { error: string } {
  i++; // '{'
  const seen = new Set<string>();
  for (;;) {
    while (s[i] === ' ') i++;
    if (s[i] === '}') return { end: i + 1 };
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(s.slice(i));
    if (!m) return { error: `bad label name at column ${i + 1}` };
    const name = m[0];
    if (!LABEL.test(name)) return { error: `bad label name "${name}"` };
    if (seen.has(name)) return { error: `duplicate label "${name}"` };
    seen.add(name);
    i += name.length;
    while (s[i] === ' ') i++;
    if (s[i] !== '=') return { error: `expected "=" after label "${name}"` };
    i++;
    while (s[i] === ' ') i++;
    if (s[i] !== '"') return { error: `label "${name}" value is not quoted` };
    i++;
    for (;;) {
      const ch = s[i];
      if (ch === undefined) return { error: `unterminated value of label "${name}"` };
      if (ch === '\\') {
        const n = s[i + 1];
        if (n !== '\\' && n !== '"' && n !== 'n') return { error: `bad escape "\\${n ?? ''}" in label "${name}"` };
        i += 2;
        continue;
      }
      if (ch === '"') break;
      i++;
    }
    i++;
    while (s[i] === ' ') i++;
    if (s[i] === ',') {
      i++;
      continue;
    }
    if (s[i] === '}') return { end: i + 1 };
    return { error: `expected "," or "}" after label "${name}"` };
  }
}

export function validatePromText(body: string, maxErrors = 5): PromTextResult {
  const names = new Set<string>();
  const errors: string[] = [];
  const typed = new Map<string, number>();
  let samples = 0;
  let lineNo = 0;
  let start = 0;
  let sawEof = false;
  const err = (msg: string) => {
    if (errors.length < maxErrors) errors.push(`line ${lineNo}: ${msg}`);
  };
  while (start <= body.length) {
    let end = body.indexOf('\n', start);
    if (end < 0) end = body.length;
    const line = body.slice(start, end).replace(/\r$/, '');
    start = end + 1;
    lineNo++;
    if (line.trim() === '') {
      if (start > body.length) break;
      continue;
    }
    if (sawEof) {
      err('content after # EOF');
      break;
    }
    if (line.startsWith('#')) {
      const parts = line.split(/[ \t]+/);
      if (parts[0] !== '#') continue;
      const kw = parts[1];
      if (kw === 'EOF' && parts.length === 2) {
        sawEof = true;
        continue;
      }
      if (kw === 'HELP' || kw === 'TYPE' || kw === 'UNIT') {
        const name = parts[2];
        if (!name || !NAME.test(name)) {
          err(`bad metric name in # ${kw}`);
          continue;
        }
        names.add(name);
        if (kw === 'TYPE') {
          const t = parts[3];
          if (!t || !TYPES.has(t)) err(`unknown type "${t ?? ''}" for ${name}`);
          if (typed.has(name)) err(`second # TYPE line for ${name}`);
          typed.set(name, lineNo);
        }
      }
      continue; // other comments are allowed
    }
    const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nm) {
      err(`not a sample: "${line.slice(0, 60)}"`);
      continue;
    }
    let i = nm[0].length;
    if (line[i] === '{') {
      const r = parseLabels(line, i);
      if ('error' in r) {
        err(r.error);
        continue;
      }
      i = r.end;
    }
    const rest = line.slice(i).trim().split(/[ \t]+/);
    if (line[i] !== ' ' && line[i] !== '\t') {
      err(`expected a space after ${nm[0]}`);
      continue;
    }
    if (!rest[0] || !isValue(rest[0])) {
      err(`bad value "${rest[0] ?? ''}" for ${nm[0]}`);
      continue;
    }
    if (rest[1] !== undefined && !/^-?\d+(\.\d+)?$/.test(rest[1])) {
      err(`bad timestamp "${rest[1]}" for ${nm[0]}`);
      continue;
    }
    if (rest.length > 2 && !rest[2]?.startsWith('#')) {
      err(`trailing text after the sample of ${nm[0]}`);
      continue;
    }
    names.add(nm[0]);
    samples++;
  }
  if (samples === 0 && errors.length === 0) errors.push('no samples');
  return { valid: errors.length === 0, errors, names, samples };
}

/**
 * Which expected families are missing. A family matches a sample name or a TYPE name, and a
 * counter's `_total` suffix is optional either way (OpenMetrics names the family without it).
 */
export function missingFamilies(result: Pick<PromTextResult, 'names'>, expected: readonly string[]): string[] {
  return expected.filter((f) => {
    if (result.names.has(f)) return false;
    if (f.endsWith('_total') && result.names.has(f.slice(0, -'_total'.length))) return false;
    if (result.names.has(`${f}_total`)) return false;
    return true;
  });
}

/** Does the body look like Prometheus text at all (vs an HTML page, JSON, an error)? */
export function looksLikeHtml(body: string): boolean {
  return /^\s*<(!doctype|html)/i.test(body);
}
