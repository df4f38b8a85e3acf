/**
 * Request signing for the three schemes the credential checks need, written from the published specs:
 *
 * - ACS3-HMAC-SHA256 (Alibaba Cloud OpenAPI "V3 request structure and signature"): STS and the
 *   CMS 2.0 (cms 2024-03-30) API. Test vector: the spec's fixed-parameter RunInstances example.
 * - SLS v1 (`Authorization: LOG <AccessKeyId>:<Signature>`, SLS "Request signatures"): HMAC over
 *   VERB\nCONTENT-MD5\nCONTENT-TYPE\nDATE\nCanonicalizedLOGHeaders\nCanonicalizedResource, with the
 *   algorithm named by `x-log-signaturemethod` (the doc's hmac-sha1; current SDKs send hmac-sha256).
 *   Test vectors: the doc's two examples.
 * - SLS v4 (`SLS4-HMAC-SHA256`, SLS "Request signatures (V4)"). Test vectors: the ones the official
 *   SLS Java and Python SDKs both ship in their signer tests.
 *
 * Why hand-written instead of @alicloud/openapi-client / @alicloud/sls20201230 (measured on Node 20.20,
 * this machine): they do run on Node 20 and openapi-client signs with ACS3 by default, but importing
 * @alicloud/sts20150401 costs ~100 ms and ~24 MB RSS, @alicloud/sls20201230 ~210 ms and ~40 MB, and the
 * four packages pull 49 packages / 38 MB (moment, lodash, xml2js, httpx) into a CLI whose startup we
 * measure. Their endpoint override replaces the host name itself (Host header, SNI and signature then
 * say 127.0.0.1), so a mirror or test server cannot stand in for the real host name; and the CMS 2.0
 * SDK (cms20240330) is not published on npm at all, so a hand-written client would be needed anyway.
 * The three schemes are ~150 lines on node:crypto and are pinned to the published vectors in
 * test/unit/cloud/signing.test.ts; the secret is revealed only as an HMAC key, inside this module.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Secret } from '../secret.js';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const ACS3_ALGORITHM = 'ACS3-HMAC-SHA256';
export const SLS4_ALGORITHM = 'SLS4-HMAC-SHA256';
export const SLS_API_VERSION = '0.6.0';

export interface SigningCredentials {
  accessKeyId: string;
  accessKeySecret: Secret;
  /** An STS token (temporary credentials): sent as x-acs-security-token and signed with the rest. */
  securityToken?: Secret;
}

type Body = string | Uint8Array | undefined;

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const toBytes = (b: Body) => (b === undefined ? new Uint8Array() : typeof b === 'string' ? Buffer.from(b, 'utf8') : b);

/** RFC 3986 encoding: A-Z a-z 0-9 - _ . ~ stay, everything else is %XX of its UTF-8 bytes. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Encode each `/`-separated segment of a path (the canonical URI of ACS3). */
export function encodePath(path: string): string {
  return path.split('/').map(percentEncode).join('/');
}

/** `yyyy-MM-ddTHH:mm:ssZ` (x-acs-date). */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `yyyyMMddTHHmmssZ` (x-log-date for SLS v4). */
export function isoBasic(date: Date): string {
  return isoSeconds(date).replace(/[-:]/g, '');
}

/** RFC 1123 in GMT (`Date` header for SLS v1): `Mon, 09 Nov 2015 06:11:16 GMT`. */
export function rfc1123(date: Date): string {
  return date.toUTCString();
}

export interface SignedRequest {
  method: string;
  /** Encoded path plus query string, ready for the request line. */
  path: string;
  headers: Record<string, string>;
  /** The exact bytes hashed or signed, for diagnostics and tests (never contains the secret). */
  stringToSign: string;
  canonicalRequest?: string;
}

function queryString(query: Record<string, string> | undefined): string {
  return Object.keys(query ?? {})
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(query![k]!)}`)
    .join('&');
}

// ---------------------------------------------------------------------------------------------
// ACS3-HMAC-SHA256

export interface Acs3Input {
  method: string;
  host: string;
  /** Unencoded path; RPC-style APIs use `/`. */
  path?: string;
  query?: Record<string, string>;
  /** Extra headers; content-type and x-acs-* ones are signed. */
  headers?: Record<string, string>;
  body?: Body;
  action: string;
  version: string;
  date: Date;
  nonce: string;
}

/** Step 1 of the spec: the canonical request and the headers it signed. */
export function acs3CanonicalRequest(
  method: string,
  encodedPath: string,
  query: Record<string, string> | undefined,
  headers: Record<string, string>,
  hashedPayload: string,
): { canonicalRequest: string; signedHeaders: string } {
  const signed = new Map<string, string>();
  for (const [k, v] of Object.entries(headers)) {
    const key = k.toLowerCase();
    if (key === 'host' || key === 'content-type' || key.startsWith('x-acs-')) signed.set(key, v.trim());
  }
  const names = [...signed.keys()].sort();
  const canonicalHeaders = names.map((n) => `${n}:${signed.get(n)}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [method.toUpperCase(), encodedPath, queryString(query), canonicalHeaders, signedHeaders, hashedPayload].join('\n');
  return { canonicalRequest, signedHeaders };
}

export function acs3Signature(secret: Secret, stringToSign: string): string {
  return createHmac('sha256', secret.reveal()).update(stringToSign, 'utf8').digest('hex');
}

export function signAcs3(input: Acs3Input, creds: SigningCredentials): SignedRequest {
  const body = toBytes(input.body);
  const hashedPayload = sha256Hex(body);
  const encodedPath = encodePath(input.path ?? '/');
  const headers: Record<string, string> = {
    ...input.headers,
    host: input.host,
    'x-acs-action': input.action,
    'x-acs-version': input.version,
    'x-acs-date': isoSeconds(input.date),
    'x-acs-signature-nonce': input.nonce,
    'x-acs-content-sha256': hashedPayload,
    ...(creds.securityToken ? { 'x-acs-security-token': creds.securityToken.reveal() } : {}),
  };
  const { canonicalRequest, signedHeaders } = acs3CanonicalRequest(input.method, encodedPath, input.query, headers, hashedPayload);
  const stringToSign = `${ACS3_ALGORITHM}\n${sha256Hex(canonicalRequest)}`;
  const signature = acs3Signature(creds.accessKeySecret, stringToSign);
  headers.authorization = `${ACS3_ALGORITHM} Credential=${creds.accessKeyId},SignedHeaders=${signedHeaders},Signature=${signature}`;
  const qs = queryString(input.query);
  return { method: input.method.toUpperCase(), path: qs ? `${encodedPath}?${qs}` : encodedPath, headers, stringToSign, canonicalRequest };
}

// ---------------------------------------------------------------------------------------------
// SLS v1

/** x-log-* and x-acs-* headers, lower-cased, sorted, `name:value` joined by `\n`. */
export function slsCanonicalizedLogHeaders(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([k, v]) => [k.toLowerCase(), v.trim()] as const)
    .filter(([k]) => k.startsWith('x-log-') || k.startsWith('x-acs-'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}:${v}`)
    .join('\n');
}

/** The resource, then `?` and the query sorted by name as raw `k=v` pairs (values are not encoded). */
export function slsCanonicalizedResource(resource: string, query?: Record<string, string>): string {
  const keys = Object.keys(query ?? {}).sort();
  return keys.length ? `${resource}?${keys.map((k) => `${k}=${query![k]}`).join('&')}` : resource;
}

export function slsV1StringToSign(method: string, headers: Record<string, string>, resource: string, query?: Record<string, string>): string {
  const get = (name: string) => Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1] ?? '';
  // The doc: when x-log-date is present its value replaces Date in the string to sign.
  const date = get('x-log-date') || get('date');
  return [method.toUpperCase(), get('content-md5'), get('content-type'), date, slsCanonicalizedLogHeaders(headers), slsCanonicalizedResource(resource, query)].join('\n');
}

export type SlsV1Method = 'hmac-sha1' | 'hmac-sha256';

export function slsV1Signature(secret: Secret, stringToSign: string, method: SlsV1Method = 'hmac-sha1'): string {
  return createHmac(method === 'hmac-sha256' ? 'sha256' : 'sha1', secret.reveal()).update(stringToSign, 'utf8').digest('base64');
}

export interface SlsInput {
  method: string;
  host: string;
  /** Unencoded resource path, e.g. `/` or `/logstores/x`. */
  resource: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Body;
  date: Date;
}

/** The headers both SLS schemes send and sign. */
function slsHeaders(input: SlsInput, body: Uint8Array, method: string): Record<string, string> {
  return {
    ...input.headers,
    host: input.host,
    date: rfc1123(input.date),
    'x-log-apiversion': SLS_API_VERSION,
    'x-log-signaturemethod': method,
    'x-log-bodyrawsize': String(body.length),
  };
}

/** The request line's path with its query string. */
function slsPath(input: SlsInput): string {
  const qs = queryString(input.query);
  const path = encodePath(input.resource);
  return qs ? `${path}?${qs}` : path;
}

export function signSlsV1(input: SlsInput, creds: SigningCredentials, method: SlsV1Method = 'hmac-sha1'): SignedRequest {
  const body = toBytes(input.body);
  const headers = slsHeaders(input, body, method);
  if (body.length > 0) headers['content-md5'] = createHash('md5').update(body).digest('hex').toUpperCase();
  const stringToSign = slsV1StringToSign(input.method, headers, input.resource, input.query);
  headers.authorization = `LOG ${creds.accessKeyId}:${slsV1Signature(creds.accessKeySecret, stringToSign, method)}`;
  return { method: input.method.toUpperCase(), path: slsPath(input), headers, stringToSign };
}

// ---------------------------------------------------------------------------------------------
// SLS v4

/** SLS v4 query: sorted by name, names as they are, values RFC 3986-encoded, `name` alone when empty. */
export function slsV4CanonicalQuery(query?: Record<string, string>): string {
  return Object.keys(query ?? {})
    .sort()
    .map((k) => (query![k] ? `${k}=${percentEncode(query![k])}` : k))
    .join('&');
}

export function slsV4CanonicalRequest(method: string, resource: string, query: Record<string, string> | undefined, headers: Record<string, string>, contentSha256: string) {
  const signed = new Map<string, string>();
  for (const [k, v] of Object.entries(headers)) {
    const key = k.toLowerCase();
    if (key === 'host' || key === 'content-type' || key.startsWith('x-log-') || key.startsWith('x-acs-')) signed.set(key, v.trim());
  }
  const names = [...signed.keys()].sort();
  const canonicalHeaders = names.map((n) => `${n}:${signed.get(n)}\n`).join('');
  return [method.toUpperCase(), resource, slsV4CanonicalQuery(query), canonicalHeaders, names.join(';'), contentSha256].join('\n');
}

export function slsV4SigningKey(secret: Secret, shortDate: string, region: string): Buffer {
  let key: Buffer = createHmac('sha256', `aliyun_v4${secret.reveal()}`).update(shortDate).digest();
  for (const part of [region, 'sls', 'aliyun_v4_request']) key = createHmac('sha256', key).update(part).digest();
  return key;
}

/**
 * Adds x-log-content-sha256 and x-log-date to `headers` and returns the Authorization value. Exposed
 * separately so the published vectors (which sign a bare header set) can be checked exactly.
 */
export function slsV4Authorization(
  req: { method: string; resource: string; query?: Record<string, string>; headers: Record<string, string>; body?: Body; region: string; dateTime: string },
  creds: SigningCredentials,
): { authorization: string; stringToSign: string; canonicalRequest: string } {
  const body = toBytes(req.body);
  const contentSha256 = body.length ? sha256Hex(body) : EMPTY_SHA256;
  req.headers['x-log-content-sha256'] = contentSha256;
  req.headers['x-log-date'] = req.dateTime;
  const shortDate = req.dateTime.slice(0, 8);
  const canonicalRequest = slsV4CanonicalRequest(req.method, req.resource, req.query, req.headers, contentSha256);
  const scope = `${shortDate}/${req.region}/sls/aliyun_v4_request`;
  const stringToSign = `${SLS4_ALGORITHM}\n${req.dateTime}\n${scope}\n${sha256Hex(canonicalRequest)}`;
  const signature = createHmac('sha256', slsV4SigningKey(creds.accessKeySecret, shortDate, req.region)).update(stringToSign).digest('hex');
  return { authorization: `${SLS4_ALGORITHM} Credential=${creds.accessKeyId}/${scope},Signature=${signature}`, stringToSign, canonicalRequest };
}

export function signSlsV4(input: SlsInput & { region: string }, creds: SigningCredentials): SignedRequest {
  const body = toBytes(input.body);
  const headers = slsHeaders(input, body, 'hmac-sha256');
  const signed = slsV4Authorization(
    { method: input.method, resource: input.resource, query: input.query, headers, body, region: input.region, dateTime: isoBasic(input.date) },
    creds,
  );
  headers.authorization = signed.authorization;
  return { method: input.method.toUpperCase(), path: slsPath(input), headers, stringToSign: signed.stringToSign, canonicalRequest: signed.canonicalRequest };
}
