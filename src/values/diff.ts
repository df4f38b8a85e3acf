/** What an upgrade changes in the user's values, for the plan it shows. No I/O. */
import { REDACTED, Secret } from '../secret.js';
import { displayValue } from './redact.js';
import { isMap, SECRET_PATH, type Values } from './tree.js';

export interface ValueChange {
  path: string;
  from?: unknown;
  to?: unknown;
  kind: 'added' | 'removed' | 'changed';
}

function flatten(v: unknown, prefix = '', out: Map<string, unknown> = new Map()): Map<string, unknown> {
  if (isMap(v) && Object.keys(v).length > 0) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.set(prefix, v);
  }
  return out;
}

const same = (a: unknown, b: unknown) => {
  if (a instanceof Secret || b instanceof Secret) {
    const x = a instanceof Secret ? a.reveal() : a;
    const y = b instanceof Secret ? b.reveal() : b;
    return x === y;
  }
  return JSON.stringify(a) === JSON.stringify(b);
};

/** The values that differ between two user-value trees, secrets shown as [REDACTED]. */
export function diffValues(before: Values, after: Values): ValueChange[] {
  const a = flatten(before);
  const b = flatten(after);
  const out: ValueChange[] = [];
  const shown = (p: string, x: unknown) => (p === SECRET_PATH ? REDACTED : displayValue(x));
  for (const [p, x] of a) {
    if (!b.has(p)) out.push({ path: p, from: shown(p, x), kind: 'removed' });
    else if (!same(x, b.get(p))) out.push({ path: p, from: shown(p, x), to: shown(p, b.get(p)), kind: 'changed' });
  }
  for (const [p, y] of b) if (!a.has(p)) out.push({ path: p, to: shown(p, y), kind: 'added' });
  return out.sort((x, y) => x.path.localeCompare(y.path));
}

