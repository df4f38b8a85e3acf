/**
 * What String() makes of a value of unknown type (parsed YAML or JSON, an error's fields), or
 * `fallback` for null and undefined: the `String(v ?? fallback)` idiom with the type spelled out.
 */
export function textOf(v: unknown, fallback = ''): string {
  if (v === undefined || v === null) return fallback;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- any value is accepted on purpose; a map shows as [object Object]
  return String(v);
}
