/**
 * The chart values as a tree: the type, path access by dotted key, and helm's merge. No I/O.
 * The AccessKey secret sits in the tree as a `Secret`, which every helper here treats as a leaf.
 */
import { Secret } from '../secret.js';

export type Values = Record<string, unknown>;

/** The one chart value that is a secret. */
export const SECRET_PATH = 'accessKeySecret';

export const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Secret);

export function getPath(tree: Values, path: string): unknown {
  let cur: unknown = tree;
  for (const k of path.split('.')) {
    if (!isMap(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

export function setPath(tree: Values, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = tree;
  for (const k of keys.slice(0, -1)) {
    if (!isMap(cur[k])) cur[k] = {};
    cur = cur[k] as Values;
  }
  cur[keys[keys.length - 1]!] = value;
}

export function hasPath(tree: Values, path: string): boolean {
  const keys = path.split('.');
  let cur: unknown = tree;
  for (const k of keys) {
    if (!isMap(cur) || !(k in cur)) return false;
    cur = cur[k];
  }
  return true;
}

/**
 * helm's merge of values files (pkg/cli/values mergeMaps): maps merge key by key, anything else
 * (scalars, lists, null) replaces. A null is kept: helm drops the key when it coalesces with the
 * chart's defaults, which is how `--set key=null` removes a default.
 */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isMap(v) && isMap(b) ? mergeValues(b, v) : cloneValue(v);
  }
  return out;
}

/** A deep copy of maps and lists; a `Secret` is kept as it is (its value is private: copying its fields would lose it). */
export function cloneValue(v: unknown): unknown {
  if (v instanceof Secret) return v;
  if (Array.isArray(v)) return v.map(cloneValue);
  if (isMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cloneValue(x)]));
  return v;
}

/** Wrap the secret wherever a values tree holds it as plain text (a values file, `helm get values`). */
export function wrapSecret(values: Values): Values {
  const v = values[SECRET_PATH];
  if (typeof v === 'string' && v !== '') return { ...values, [SECRET_PATH]: new Secret(v) };
  if (typeof v === 'number') return { ...values, [SECRET_PATH]: new Secret(String(v)) };
  return values;
}
