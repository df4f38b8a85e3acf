// Every text form of a secret by name, as the bundle's redaction promises to remove them: the unit
// tests and the e2e canary check the same list.
export function secretFormsByName(s: string): Record<string, string> {
  const b64 = Buffer.from(s).toString('base64');
  return {
    raw: s,
    base64: b64,
    'base64 url-safe': b64.replace(/\+/g, '-').replace(/\//g, '_'),
    'base64 of base64': Buffer.from(b64).toString('base64'),
    'url-encoded': encodeURIComponent(s),
    'form-encoded': new URLSearchParams({ v: s }).toString().slice(2),
    'json-escaped': JSON.stringify(s).slice(1, -1),
    hex: Buffer.from(s).toString('hex'),
    HEX: Buffer.from(s).toString('hex').toUpperCase(),
  };
}
