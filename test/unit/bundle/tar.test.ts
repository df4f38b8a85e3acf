import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

const made: string[] = [];
/** A temp directory, removed when the file's tests end. */
const temp = (prefix: string) => {
  const d = mkdtempSync(prefix);
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
import { openExclusive, packEntry, tarEntrySize, tarHeaders, TarGzWriter } from '../../../src/bundle/tar.js';

describe('tar writer', () => {
  it('writes an archive the system tar lists and unpacks byte for byte, mode 0600', () => {
    const dir = temp(join(tmpdir(), 'bundle-tar-'));
    const file = join(dir, 'a.tar.gz');
    const w = new TarGzWriter(openExclusive(file));
    const longName = `logs/${'p'.repeat(90)}/${'c'.repeat(60)}.previous.log`;
    const files: Record<string, Buffer> = {
      'manifest.json': Buffer.from('{"a":1}\n'),
      'empty.txt': Buffer.alloc(0),
      'exact-block.bin': Buffer.alloc(512, 7),
      'random.bin': randomBytes(70_000),
      'unicode/日本.txt': Buffer.from('héllo wörld\n'),
      [longName]: Buffer.from('long name\n'),
    };
    const now = new Date('2026-12-01T00:00:00Z');
    let sum = 0;
    for (const [name, body] of Object.entries(files)) {
      const p = packEntry(name, body, now);
      w.append(p);
      sum += p.bytes.length;
      expect(w.size).toBe(sum);
    }
    const total = w.finish();
    expect(statSync(file).size).toBe(total);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const listed = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(listed.sort()).toEqual(Object.keys(files).sort());
    const out = temp(join(tmpdir(), 'bundle-untar-'));
    execFileSync('tar', ['-xzf', file, '-C', out]);
    for (const [name, body] of Object.entries(files)) expect(readFileSync(join(out, name)).equals(body), name).toBe(true);
  });

  it('never opens an existing file', () => {
    const dir = temp(join(tmpdir(), 'bundle-tar-'));
    const file = join(dir, 'a.tar.gz');
    new TarGzWriter(openExclusive(file)).finish();
    expect(() => openExclusive(file)).toThrow(/EEXIST/);
  });
});

// ---- names and sizes ustar cannot hold -------------------------------------------------------------------

const NOW = new Date('2026-12-01T00:00:00Z');
// A UTF-8 locale, so GNU tar lists non-ASCII names as they are rather than escaped.
const TAR_ENV = { ...process.env, LC_ALL: 'C.UTF-8' };

interface RawEntry {
  type: string;
  name: string;
  prefix: string;
  header: Buffer;
  body: Buffer;
}

/** The tar entries inside one packed gzip member, read field by field. */
function rawEntries(gz: Buffer): RawEntry[] {
  const raw = gunzipSync(gz);
  const out: RawEntry[] = [];
  for (let off = 0; off + 512 <= raw.length; ) {
    const header = raw.subarray(off, off + 512);
    const field = (at: number, len: number) => header.subarray(at, at + len).toString('latin1').replace(/\0[^]*$/, '');
    const size = parseInt(field(124, 12), 8);
    out.push({ type: field(156, 1), name: field(0, 100), prefix: field(345, 155), header, body: raw.subarray(off + 512, off + 512 + size) });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** Writes `files` as a bundle, then has the system tar list and unpack it: names and bytes must match exactly. */
function roundTrip(files: Record<string, Buffer>): void {
  const file = join(temp(join(tmpdir(), 'bundle-tar-')), 'a.tar.gz');
  const w = new TarGzWriter(openExclusive(file));
  for (const [name, body] of Object.entries(files)) w.append(packEntry(name, body, NOW));
  w.finish();
  const names = Object.keys(files).sort();
  const listed = execFileSync('tar', ['-tzf', file], { encoding: 'utf8', env: TAR_ENV }).split('\n').filter(Boolean);
  expect(listed.sort()).toEqual(names);
  const out = temp(join(tmpdir(), 'bundle-untar-'));
  execFileSync('tar', ['-xzf', file, '-C', out], { env: TAR_ENV });
  // Nothing else lands on disk (no PaxHeaders files, no truncated stand-ins).
  const onDisk = readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((p) => statSync(join(out, p)).isFile());
  expect(onDisk.sort()).toEqual(names);
  for (const [name, body] of Object.entries(files)) expect(readFileSync(join(out, name)).equals(body), name).toBe(true);
}

/** The one pax record a name alone produces, checked for a self-consistent length. */
function expectPaxPath(e: RawEntry, name: string): void {
  expect(e.type).toBe('x');
  expect(e.name.startsWith('PaxHeaders/')).toBe(true);
  const text = e.body.toString('utf8');
  const m = /^(\d+) path=/.exec(text);
  expect(m, text.slice(0, 40)).not.toBeNull();
  expect(Number(m![1])).toBe(e.body.length);
  expect(text).toBe(`${m![1]} path=${name}\n`);
}

/** The ustar header of an entry that needs pax holds only printable ASCII in its name fields. */
function expectAsciiStandIn(e: RawEntry): void {
  expect(e.type).toBe('0');
  const fields = Buffer.concat([e.header.subarray(0, 100), e.header.subarray(345, 500)]);
  expect(fields.every((b) => b === 0 || (b >= 0x20 && b <= 0x7e))).toBe(true);
  expect(e.name.length).toBeGreaterThan(0);
}

describe('names ustar cannot hold go into a pax header', () => {
  it('a 300-byte name with no slash in the first 155 bytes', () => {
    const name = `${'d'.repeat(200)}/${'f'.repeat(99)}`;
    expect(Buffer.byteLength(name)).toBe(300);
    const [pax, file, ...rest] = rawEntries(packEntry(name, 'x', NOW).bytes);
    expect(rest).toEqual([]);
    expectPaxPath(pax!, name);
    expect(pax!.body.toString('utf8')).toBe(`310 path=${name}\n`); // 310 counts its own three digits
    expectAsciiStandIn(file!);
    roundTrip({ [name]: Buffer.from('three hundred\n') });
  });

  it('a 250-char single path component', () => {
    const name = 'x'.repeat(250);
    const [pax, file] = rawEntries(packEntry(name, '', NOW).bytes);
    expectPaxPath(pax!, name);
    expectAsciiStandIn(file!);
    roundTrip({ [name]: Buffer.alloc(0), 'short.txt': Buffer.from('s\n') });
  });

  it('a log path with a 253-char pod name and a 63-char container name', () => {
    const name = `logs/${'p'.repeat(253)}/${'c'.repeat(63)}.log`;
    roundTrip({ [name]: randomBytes(1500) });
  });

  it('non-ASCII names keep every byte, where a character-based split would cut inside a character', () => {
    const short = 'logs/под-ü/容器.log';
    // 105 characters before the last slash but 185 bytes: a split by characters overruns the 155-byte prefix.
    const long = `logs/${'под-ü'.repeat(20)}/容器.log`;
    expect(long.lastIndexOf('/')).toBeLessThanOrEqual(155);
    expect(Buffer.byteLength(long.slice(0, long.lastIndexOf('/')))).toBeGreaterThan(155);
    const astral = `logs/${'🙂'.repeat(30)}.log`; // 4-byte characters, 2 UTF-16 units each
    for (const name of [short, long, astral]) {
      const [pax, file] = rawEntries(packEntry(name, 'x', NOW).bytes);
      expectPaxPath(pax!, name);
      expectAsciiStandIn(file!);
    }
    roundTrip({ [short]: Buffer.from('ü\n'), [long]: Buffer.from('long\n'), [astral]: Buffer.from('🙂\n') });
  });

  it('a name of exactly 100 bytes stays ustar only; 101 bytes with no slash takes a pax header', () => {
    const n100 = `${'n'.repeat(96)}.txt`;
    const n101 = `${'n'.repeat(97)}.txt`;
    const [only, ...none] = rawEntries(packEntry(n100, 'a', NOW).bytes);
    expect(none).toEqual([]);
    expect(only!.type).toBe('0');
    expect(only!.header.subarray(0, 100).toString('ascii')).toBe(n100); // fills the field, no NUL
    expectPaxPath(rawEntries(packEntry(n101, 'b', NOW).bytes)[0]!, n101);
    roundTrip({ [n100]: Buffer.from('a'), [n101]: Buffer.from('b') });
  });

  it('a plain short name is ustar only: one header block and the padded content, no pax entry', () => {
    const p = packEntry('README.txt', 'hello\n', NOW);
    const raw = gunzipSync(p.bytes);
    expect(raw.length).toBe(1024);
    expect(raw.length).toBe(tarEntrySize(6));
    expect(raw.includes('PaxHeaders')).toBe(false);
    expect(raw.subarray(0, 11).toString('latin1')).toBe('README.txt\0');
    expect(raw.subarray(156, 157).toString('latin1')).toBe('0');
    expect(raw.subarray(257, 263).toString('latin1')).toBe('ustar\0');
    expect(raw.subarray(512, 518).toString('latin1')).toBe('hello\n');
    expect(p.rawBytes).toBe(6);
  });

  it('tarEntrySize with nameBytes counts the pax header exactly; rawBytes stays the content length', () => {
    for (const name of [`${'d'.repeat(200)}/${'f'.repeat(99)}`, 'x'.repeat(250), 'logs/под-ü/容器.log', 'é'.repeat(500)]) {
      for (const len of [0, 1, 511, 512, 513, 4000]) {
        const p = packEntry(name, Buffer.alloc(len, 1), NOW);
        expect(p.rawBytes).toBe(len);
        expect(gunzipSync(p.bytes).length, `${name.slice(0, 10)} ${len}`).toBe(tarEntrySize(len, Buffer.byteLength(name)));
      }
    }
    // For a name that needs no pax header it is an upper bound.
    expect(tarEntrySize(6, 10)).toBeGreaterThan(gunzipSync(packEntry('README.txt', 'hello\n', NOW).bytes).length);
  });

  it('a size beyond the 11-digit octal field goes into the pax header, and GNU tar reads it', () => {
    const size = 2 ** 33 + 5;
    const h = tarHeaders('big.bin', size, NOW);
    expect(h.length).toBe(3 * 512);
    expect(h.subarray(156, 157).toString('latin1')).toBe('x');
    expect(h.subarray(512, 512 + 19).toString('latin1')).toBe('19 size=8589934597\n');
    expect(h.subarray(1024, 1032).toString('latin1')).toBe('big.bin\0');
    expect(tarEntrySize(size)).toBe(3 * 512 + size + ((512 - (size % 512)) % 512));
    // Headers only: tar lists the entry, then stops at the missing content.
    const r = spawnSync('tar', ['-tvf', '-'], { input: h, encoding: 'utf8', env: TAR_ENV });
    expect(r.stdout).toMatch(/ 8589934597 .* big\.bin\n/);
  });
});

describe('a failure to pack one entry', () => {
  it('is one plain Error with a one-line message, and the writer is left as it was', () => {
    const file = join(temp(join(tmpdir(), 'bundle-tar-')), 'a.tar.gz');
    const w = new TarGzWriter(openExclusive(file));
    w.append(packEntry('first.txt', '1\n', NOW));
    const before = w.size;
    const bad: [string, Date][] = [
      ['', NOW],
      ['a\0b.txt', NOW],
      ['lone-\ud800-surrogate.txt', NOW],
      ['bad-time.txt', new Date('not a date')],
      ['before-1970.txt', new Date(-5000)],
      ['far-future.txt', new Date(8.64e15)],
    ];
    for (const [name, mtime] of bad) {
      let err: unknown;
      try {
        packEntry(name, 'x', mtime);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(name)).toBeInstanceOf(Error);
      expect((err as Error).constructor).toBe(Error);
      expect((err as Error).message).toMatch(/^tar: cannot pack ".*": \S[^\n]*$/);
      expect(w.size).toBe(before);
    }
    w.append(packEntry('second.txt', '2\n', NOW));
    w.finish();
    expect(execFileSync('tar', ['-tzf', file], { encoding: 'utf8' })).toBe('first.txt\nsecond.txt\n');
  });
});

describe('sizes', () => {
  it('parses units in one place and refuses a bare number', async () => {
    const { parseSize, formatSize } = await import('../../../src/size.js');
    const b = { min: 1, max: 1e12 };
    expect(parseSize('5MB', '--max-size', b)).toBe(5e6);
    expect(parseSize('512KiB', '--max-size', b)).toBe(524_288);
    expect(parseSize('1.5GiB', '--max-size', b)).toBe(1.5 * 1024 ** 3);
    expect(() => parseSize('20', '--max-size', b)).toThrow(/needs a unit/);
    expect(() => parseSize('20 parsecs', '--max-size', b)).toThrow(/not a size/);
    expect(() => parseSize('1B', '--max-size', { min: 1024, max: 2048 })).toThrow(/too small/);
    expect([formatSize(20e6), formatSize(262_144), formatSize(64 * 1024 ** 2), formatSize(1_234_567), formatSize(12)]).toEqual(['20MB', '256KiB', '64MiB', '1.2MB', '12B']);
  });
});
