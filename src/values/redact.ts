/**
 * The secret kept out of everything we show: values trees for display, rendered manifests, and the
 * leaves of a values diff. No I/O.
 */
import { parseAllDocuments } from 'yaml';
import { REDACTED, redact, Secret } from '../secret.js';
import { isMap, SECRET_PATH, type Values } from './tree.js';

/**
 * One value for display: a `Secret`, or anything under the secret's key, is [REDACTED], and text
 * holding a registered secret is scrubbed, at any depth.
 */
export function displayValue(v: unknown, underSecretKey = false): unknown {
  if (v instanceof Secret) return REDACTED;
  if (underSecretKey && v !== undefined && v !== null && v !== '') return REDACTED;
  if (Array.isArray(v)) return v.map((x) => displayValue(x));
  if (isMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, displayValue(x, k === SECRET_PATH)]));
  return typeof v === 'string' ? redact(v) : v;
}

/** A values tree for display: the secret (and any text that contains it) as [REDACTED]. */
export function displayValues(values: Values): Values {
  return displayValue(values) as Values;
}

/** The Secret objects a values tree holds (to redact rendered output). */
export function secretsIn(values: Values): Secret[] {
  const out: Secret[] = [];
  const walk = (v: unknown) => {
    if (v instanceof Secret) out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (isMap(v)) Object.values(v).forEach(walk);
  };
  walk(values);
  return out;
}

/**
 * Every text form in which a secret can show up, the one list that the manifest redaction and the
 * support bundle both use: raw; base64 (standard and URL-safe, whole and from each of the 3 alignments
 * inside a longer encoded text); base64 of base64 (a Secret's data holding an encoded value); URL- and
 * form-encoded (upper- and lower-case escapes, and with `/` kept as Python's quote() does); JSON-escaped
 * (as JavaScript, Go and Python's ensure_ascii write it); hex in both cases. Forms shorter than 8 characters would match unrelated
 * text and are left out.
 */
export function secretForms(secret: string): string[] {
  if (!secret) return [];
  const forms = new Set<string>([secret]);
  const urlSafe = (b64: string) => b64.replace(/\+/g, '-').replace(/\//g, '_');
  const addBase64 = (bytes: Buffer) => {
    const b64 = bytes.toString('base64');
    forms.add(b64).add(b64.replace(/=+$/, '')).add(urlSafe(b64)).add(urlSafe(b64).replace(/=+$/, ''));
    // base64 of a longer text that contains the value (a dockerconfig, an env file in a Secret): the
    // text before it shifts the 3-byte grouping, so encode from each of the 3 alignments and keep only
    // whole groups, which are the same whatever surrounds them.
    for (let off = 0; off < 3; off++) {
      const rest = bytes.subarray(off);
      const whole = rest.subarray(0, rest.length - (rest.length % 3));
      if (whole.length >= 6) forms.add(whole.toString('base64')).add(urlSafe(whole.toString('base64')));
    }
    return b64;
  };
  const b64 = addBase64(Buffer.from(secret));
  addBase64(Buffer.from(b64));
  const uri = encodeURIComponent(secret);
  const json = JSON.stringify(secret).slice(1, -1);
  const u4 = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  forms
    .add(uri)
    .add(uri.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()))
    // Python's quote() keeps `/`.
    .add(uri.replace(/%2F/g, '/'))
    .add(new URLSearchParams({ v: secret }).toString().slice(2))
    .add(json)
    // Go's encoding/json escapes < > & ; Python's json.dumps escapes everything beyond ASCII.
    .add(json.replace(/[<>&]/g, u4))
    .add(json.replace(/[\u007f-\uffff]/g, u4));
  const hex = Buffer.from(secret).toString('hex');
  forms.add(hex).add(hex.toUpperCase());
  return [...forms].filter((f) => f.length >= 8).sort((a, b) => b.length - a.length);
}

/**
 * Redact rendered manifests: in every Secret, data/stringData values that hold (or decode to text
 * holding) the secret become [REDACTED]; then any raw or base64 form of it left anywhere else.
 */
export function redactManifests(text: string, secrets: readonly Secret[]): string {
  const plain = secrets.map((s) => s.reveal()).filter(Boolean);
  if (plain.length === 0) return redact(text);
  const holds = (s: string) => plain.some((p) => s.includes(p));
  const docs = text.split(/^---\s*$/m);
  const out = docs.map((doc) => {
    if (!/^kind:\s*Secret\s*$/m.test(doc)) return doc;
    let parsed: unknown;
    try {
      parsed = parseAllDocuments(doc)[0]?.toJSON();
    } catch {
      return doc;
    }
    if (!isMap(parsed)) return doc;
    let changed = doc;
    for (const field of ['data', 'stringData'] as const) {
      const d = parsed[field];
      if (!isMap(d)) continue;
      for (const val of Object.values(d)) {
        if (typeof val !== 'string') continue;
        const decoded = field === 'data' ? Buffer.from(val, 'base64').toString('utf8') : val;
        if (holds(decoded) || holds(val)) changed = changed.split(val).join(REDACTED);
      }
    }
    return changed;
  });
  let joined = out.join('---');
  for (const p of plain) for (const f of secretForms(p)) joined = joined.split(f).join(REDACTED);
  return redact(joined);
}
