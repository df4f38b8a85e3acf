/**
 * A minimal ustar + gzip writer for the support bundle, on node:zlib only. Each entry is written as
 * its own gzip member (a gzip file may hold several, RFC 1952 §2.2; gzip, GNU tar and zlib read them as
 * one stream). That makes the size of the archive exact after every entry, so `--max-size` is a
 * guarantee rather than an estimate: an entry is compressed first and admitted only if it fits.
 * Files are regular, mode 0600, owned by uid/gid 0. A name that is not plain ASCII or does not fit
 * ustar's name/prefix split goes into a pax extended header (`path`), as does a size too large for
 * the octal field; the ustar header then carries an ASCII stand-in for readers without pax support.
 */
import { closeSync, fchmodSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BLOCK = 512;
const NAME_MAX = 100;
const PREFIX_MAX = 155;
/** Largest value of an 11-digit octal field (size, mtime): 8 GiB - 1. */
const OCTAL11_MAX = 0o77777777777;
const PAX_DIR = 'PaxHeaders/';

const padding = (n: number): number => (BLOCK - (n % BLOCK)) % BLOCK;

/** Worst-case size of `n` raw bytes as a gzip member (stored blocks + gzip header/trailer), for reserves. */
export function gzipBound(n: number): number {
  return n + (n >> 10) + 64;
}

/** Length of a pax record whose text after the length field is `rest` bytes; the length counts its own digits. */
function recordLength(rest: number): number {
  let len = rest + 1;
  while (rest + String(len).length !== len) len = rest + String(len).length;
  return len;
}

/** One pax record: `"<len> key=value\n"`. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  return `${recordLength(Buffer.byteLength(rest))}${rest}`;
}

/**
 * Raw tar bytes of one entry: header(s) plus content padded to whole blocks. Without `nameBytes` the
 * name is taken to be short ASCII (ustar only); with it, the result is the worst case for any name of
 * that many UTF-8 bytes, i.e. it counts a pax header carrying the name.
 */
export function tarEntrySize(contentBytes: number, nameBytes?: number): number {
  let pax = 0;
  if (nameBytes !== undefined) pax += recordLength(' path=\n'.length + nameBytes);
  if (contentBytes > OCTAL11_MAX) pax += recordLength(' size=\n'.length + String(contentBytes).length);
  const paxEntry = pax ? BLOCK + pax + padding(pax) : 0;
  return paxEntry + BLOCK + contentBytes + padding(contentBytes);
}

/** The end-of-archive marker (two zero blocks) as a gzip member. */
const END = gzipSync(Buffer.alloc(2 * BLOCK), { level: 9 });
export const END_BYTES = END.length;

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

interface Split {
  prefix: string;
  base: string;
}

/** Printable ASCII only: then characters are bytes and every reader agrees on the name. */
const PLAIN = /^[\x20-\x7e]+$/;

/** The ustar name/prefix split of `name`, or undefined if it is not plain ASCII or does not fit. */
function ustarSplit(name: string): Split | undefined {
  if (!PLAIN.test(name)) return undefined;
  if (name.length <= NAME_MAX) return { prefix: '', base: name };
  // The last slash within the prefix limit leaves the shortest base: if that does not fit, none does.
  const cut = name.lastIndexOf('/', PREFIX_MAX);
  if (cut <= 0 || cut === name.length - 1 || name.length - cut - 1 > NAME_MAX) return undefined;
  return { prefix: name.slice(0, cut), base: name.slice(cut + 1) };
}

/** An ASCII stand-in for a name that needs pax, for readers that ignore pax headers. */
function fallbackSplit(name: string): Split {
  const safe = name.replace(/[^\x20-\x7e]/gu, '_');
  const fits = ustarSplit(safe);
  if (fits) return fits;
  const slash = safe.lastIndexOf('/');
  const base = safe.slice(slash + 1, slash + 1 + NAME_MAX) || '_';
  const prefix = slash > 0 ? safe.slice(0, Math.min(slash, PREFIX_MAX)).replace(/\/+$/, '') : '';
  return { prefix, base };
}

/** One ustar header block. `split` is plain ASCII and fits its fields. */
function ustarBlock(split: Split, size: number, mtime: number, type: '0' | 'x'): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(split.base, 0, NAME_MAX, 'ascii');
  h.write(octal(0o600, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(mtime, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum field counts as spaces while summing
  h.write(type, 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  h.write(split.prefix, 345, PREFIX_MAX, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/**
 * Everything before a regular file's content: a pax extended header entry when the name or size
 * needs one, then the ustar header. Throws a plain Error for a name or value no tar can hold.
 */
export function tarHeaders(name: string, size: number, mtime: Date): Buffer {
  if (name === '') throw new Error('tar: empty name');
  if (name.includes('\0')) throw new Error('tar: name contains a NUL byte');
  // A lone surrogate would be written as U+FFFD, i.e. under a different name.
  if (/\p{Cs}/u.test(name)) throw new Error('tar: name is not well-formed Unicode');
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`tar: invalid size ${size}`);
  const secs = Math.floor(mtime.getTime() / 1000);
  if (!Number.isFinite(secs) || secs < 0 || secs > OCTAL11_MAX) throw new Error('tar: mtime out of range');
  const split = ustarSplit(name);
  let records = '';
  if (!split) records += paxRecord('path', name);
  // pax readers take the size from the record; the octal field cannot hold it.
  if (size > OCTAL11_MAX) records += paxRecord('size', String(size));
  const own = split ?? fallbackSplit(name);
  const header = ustarBlock(own, size > OCTAL11_MAX ? 0 : size, secs, '0');
  if (!records) return header;
  const body = Buffer.from(records, 'utf8');
  const paxName = { prefix: '', base: PAX_DIR + own.base.slice(0, NAME_MAX - PAX_DIR.length) };
  return Buffer.concat([ustarBlock(paxName, body.length, secs, 'x'), body, Buffer.alloc(padding(body.length)), header]);
}

/** One entry, compressed and ready to append: its exact size in the archive is `bytes.length`. */
export interface PackedEntry {
  name: string;
  rawBytes: number;
  bytes: Buffer;
}

/** A name quoted onto one line, shortened, for error messages. */
function label(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}

/** Packs one file as one gzip member. Any failure is a plain Error with a one-line message, and nothing is written. */
export function packEntry(name: string, content: Buffer | string, mtime: Date): PackedEntry {
  try {
    const body = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const raw = Buffer.concat([tarHeaders(name, body.length, mtime), body, Buffer.alloc(padding(body.length))]);
    return { name, rawBytes: body.length, bytes: gzipSync(raw) };
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).replace(/^tar: /, '').replace(/\s*\n\s*/g, ' ');
    throw new Error(`tar: cannot pack ${label(name)}: ${why}`);
  }
}

/**
 * Appends packed entries to a file descriptor, counting what is on disk. The caller owns the file
 * (created 0600 with O_EXCL, removed on interruption); `finish` writes the end marker and syncs.
 */
export class TarGzWriter {
  private written = 0;
  private closed = false;

  constructor(private readonly fd: number) {
    fchmodSync(fd, 0o600);
  }

  /** Bytes in the archive so far. */
  get size(): number {
    return this.written;
  }

  append(e: PackedEntry): void {
    if (this.closed) throw new Error('tar: writer is closed');
    let off = 0;
    while (off < e.bytes.length) off += writeSync(this.fd, e.bytes, off);
    this.written += e.bytes.length;
  }

  /** End-of-archive marker, fsync, close. */
  finish(): number {
    this.append({ name: '', rawBytes: 0, bytes: END });
    fsyncSync(this.fd);
    this.close();
    return this.written;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/** Open a new file for writing, refusing to reuse an existing one (O_EXCL), mode 0600. */
export function openExclusive(path: string): number {
  return openSync(path, 'wx', 0o600);
}
