// Ad-hoc code signing of a thin 64-bit Mach-O executable, on any OS. Injecting the CLI into Node's darwin
// binary breaks its signature, and macOS on arm64 runs no binary whose signature does not match: this
// removes Node's signature before the injection and, after it, writes what `codesign --sign -` writes, a
// SuperBlob with one CodeDirectory holding the SHA-256 of every 4 KiB page. Formats: Apple's <mach-o/loader.h>
// and the code signing blobs (cs_blobs.h); Mach-O fields are little-endian, signature blobs big-endian.
import { createHash } from 'node:crypto';

const MH_MAGIC_64 = 0xfeedfacf;
const FAT_MAGICS = new Set([0xcafebabe, 0xbebafeca, 0xcafebabf, 0xbfbafeca]);
const MH_EXECUTE = 2;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const CPU_ARM64 = 0x0100000c;
const CPU_X86_64 = 0x01000007;
const HEADER = 32;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CS_ADHOC = 0x2;
const CS_EXECSEG_MAIN_BINARY = 0x1;
const CD_VERSION = 0x20400;
const CD_HEADER = 88; // the CodeDirectory's fixed fields up to execSegFlags (version 0x20400)
const PAGE_BITS = 12;
const PAGE = 1 << PAGE_BITS;
const HASH_SHA256 = 2;

export interface Segment {
  name: string;
  /** Offset of the segment_command_64 in the file. */
  at: number;
  vmaddr: bigint;
  vmsize: bigint;
  fileoff: number;
  filesize: number;
}

export interface MachoInfo {
  cputype: number;
  filetype: number;
  ncmds: number;
  sizeofcmds: number;
  segments: Segment[];
  /** Offset of the LC_CODE_SIGNATURE command, and its dataoff/datasize, when there is one. */
  signature?: { at: number; dataoff: number; datasize: number };
  /** Where the first section's bytes begin: the load commands must end before it. */
  firstSectionOffset: number;
  commands: number[];
}

const name16 = (b: Buffer, at: number): string => b.subarray(at, at + 16).toString('latin1').replace(/\0.*$/s, '');

export function machoInfo(b: Buffer): MachoInfo {
  if (b.length < HEADER) throw new Error('not a Mach-O file: too short');
  const magic = b.readUInt32LE(0);
  if (FAT_MAGICS.has(b.readUInt32BE(0))) throw new Error('a universal (fat) Mach-O: sign each architecture on its own');
  if (magic !== MH_MAGIC_64) throw new Error(magic === 0xfeedface ? 'a 32-bit Mach-O: not supported' : 'not a 64-bit Mach-O file');
  const info: MachoInfo = { cputype: b.readUInt32LE(4), filetype: b.readUInt32LE(12), ncmds: b.readUInt32LE(16), sizeofcmds: b.readUInt32LE(20), segments: [], firstSectionOffset: b.length, commands: [] };
  if (info.cputype !== CPU_ARM64 && info.cputype !== CPU_X86_64) throw new Error(`unsupported CPU type 0x${info.cputype.toString(16)}`);
  let at = HEADER;
  for (let i = 0; i < info.ncmds; i++) {
    const cmd = b.readUInt32LE(at);
    const size = b.readUInt32LE(at + 4);
    if (size < 8 || at + size > HEADER + info.sizeofcmds) throw new Error(`load command ${i} is malformed`);
    info.commands.push(cmd);
    if (cmd === LC_SEGMENT_64) {
      info.segments.push({ name: name16(b, at + 8), at, vmaddr: b.readBigUInt64LE(at + 24), vmsize: b.readBigUInt64LE(at + 32), fileoff: Number(b.readBigUInt64LE(at + 40)), filesize: Number(b.readBigUInt64LE(at + 48)) });
      const nsects = b.readUInt32LE(at + 64);
      for (let s = 0; s < nsects; s++) {
        const sect = at + 72 + s * 80;
        const offset = b.readUInt32LE(sect + 48);
        const flags = b.readUInt32LE(sect + 64);
        // Zero-fill sections (bss) have no bytes in the file.
        const zerofill = (flags & 0xff) === 0x1 || (flags & 0xff) === 0xc || (flags & 0xff) === 0x12;
        if (offset > 0 && !zerofill) info.firstSectionOffset = Math.min(info.firstSectionOffset, offset);
      }
    } else if (cmd === LC_CODE_SIGNATURE) {
      info.signature = { at, dataoff: b.readUInt32LE(at + 8), datasize: b.readUInt32LE(at + 12) };
    }
    at += size;
  }
  return info;
}

const pageOf = (cputype: number): bigint => (cputype === CPU_ARM64 ? 0x4000n : 0x1000n);
const roundUp = (n: bigint, to: bigint): bigint => ((n + to - 1n) / to) * to;
const align16 = (n: number): number => (n + 15) & ~15;

function linkedit(info: MachoInfo): Segment {
  const seg = info.segments.find((s) => s.name === '__LINKEDIT');
  if (!seg) throw new Error('no __LINKEDIT segment');
  return seg;
}

/** Sets __LINKEDIT to end at `end` (file offset). */
function setLinkeditEnd(b: Buffer, info: MachoInfo, end: number): void {
  const seg = linkedit(info);
  const filesize = BigInt(end - seg.fileoff);
  b.writeBigUInt64LE(filesize, seg.at + 48);
  b.writeBigUInt64LE(roundUp(filesize, pageOf(info.cputype)), seg.at + 32);
}

/** A copy without the code signature (what `codesign --remove-signature` does); unchanged when unsigned. */
export function removeSignature(input: Buffer): Buffer {
  const info = machoInfo(input);
  if (!info.signature) return input;
  const { at, dataoff } = info.signature;
  const seg = linkedit(info);
  if (seg.fileoff + seg.filesize < dataoff) throw new Error('the code signature lies outside __LINKEDIT');
  const b = Buffer.from(input.subarray(0, dataoff));
  const end = HEADER + info.sizeofcmds;
  b.copy(b, at, at + 16, end);
  b.fill(0, end - 16, end);
  b.writeUInt32LE(info.ncmds - 1, 16);
  b.writeUInt32LE(info.sizeofcmds - 16, 20);
  setLinkeditEnd(b, machoInfo(b), dataoff);
  return b;
}

/** A signed copy: ad hoc, identified as `identifier`. Signing a signed file replaces its signature. */
export function adhocSign(input: Buffer, identifier: string): Buffer {
  let b = removeSignature(input);
  let info = machoInfo(b);
  const seg = linkedit(info);
  if (seg.fileoff + seg.filesize !== b.length) throw new Error('__LINKEDIT does not end the file: cannot append a signature');
  const cmdsEnd = HEADER + info.sizeofcmds;
  if (cmdsEnd + 16 > info.firstSectionOffset) throw new Error('no room after the load commands for LC_CODE_SIGNATURE');
  const codeLimit = align16(b.length);
  const text = info.segments.find((s) => s.name === '__TEXT');
  if (!text) throw new Error('no __TEXT segment');
  const ident = Buffer.from(`${identifier}\0`, 'utf8');
  const slots = Math.ceil(codeLimit / PAGE);
  const hashOffset = CD_HEADER + ident.length;
  const cdLength = hashOffset + slots * 32;
  const total = 20 + cdLength;
  const datasize = align16(total);
  // The load command and __LINKEDIT's new size come first: page 0 (the header) is hashed too.
  b = Buffer.concat([b, Buffer.alloc(codeLimit + datasize - b.length)]);
  b.writeUInt32LE(LC_CODE_SIGNATURE, cmdsEnd);
  b.writeUInt32LE(16, cmdsEnd + 4);
  b.writeUInt32LE(codeLimit, cmdsEnd + 8);
  b.writeUInt32LE(datasize, cmdsEnd + 12);
  b.writeUInt32LE(info.ncmds + 1, 16);
  b.writeUInt32LE(info.sizeofcmds + 16, 20);
  info = machoInfo(b);
  setLinkeditEnd(b, info, codeLimit + datasize);
  const sig = b.subarray(codeLimit);
  sig.writeUInt32BE(CSMAGIC_EMBEDDED_SIGNATURE, 0);
  sig.writeUInt32BE(total, 4);
  sig.writeUInt32BE(1, 8);
  sig.writeUInt32BE(0, 12); // slot 0: the CodeDirectory
  sig.writeUInt32BE(20, 16);
  const cd = sig.subarray(20);
  cd.writeUInt32BE(CSMAGIC_CODEDIRECTORY, 0);
  cd.writeUInt32BE(cdLength, 4);
  cd.writeUInt32BE(CD_VERSION, 8);
  cd.writeUInt32BE(CS_ADHOC, 12);
  cd.writeUInt32BE(hashOffset, 16);
  cd.writeUInt32BE(CD_HEADER, 20); // identOffset
  cd.writeUInt32BE(0, 24); // nSpecialSlots
  cd.writeUInt32BE(slots, 28);
  cd.writeUInt32BE(codeLimit, 32);
  cd.writeUInt8(32, 36); // hashSize
  cd.writeUInt8(HASH_SHA256, 37);
  cd.writeUInt8(0, 38); // platform
  cd.writeUInt8(PAGE_BITS, 39);
  // spare2, scatterOffset, teamOffset, spare3, codeLimit64: zero
  cd.writeBigUInt64BE(BigInt(text.fileoff), 64);
  cd.writeBigUInt64BE(BigInt(text.filesize), 72);
  cd.writeBigUInt64BE(info.filetype === MH_EXECUTE ? BigInt(CS_EXECSEG_MAIN_BINARY) : 0n, 80);
  ident.copy(cd, CD_HEADER);
  for (let i = 0; i < slots; i++) {
    createHash('sha256').update(b.subarray(i * PAGE, Math.min((i + 1) * PAGE, codeLimit))).digest().copy(cd, hashOffset + i * 32);
  }
  return b;
}

export interface Verdict {
  ok: boolean;
  identifier: string;
  pages: number;
  flags: number;
  problems: string[];
}

/**
 * Checks a signature independently of adhocSign: where it sits, and every code page's SHA-256 in the
 * CodeDirectory that uses SHA-256 (an Apple-signed binary has more blobs; only the code slots are checked).
 */
export function verifyAdhoc(b: Buffer): Verdict {
  const info = machoInfo(b);
  const v: Verdict = { ok: false, identifier: '', pages: 0, flags: 0, problems: [] };
  if (!info.signature) return { ...v, problems: ['no LC_CODE_SIGNATURE'] };
  const { dataoff, datasize } = info.signature;
  const seg = linkedit(info);
  if (dataoff + datasize > b.length) v.problems.push('the signature runs past the end of the file');
  if (dataoff < seg.fileoff || dataoff + datasize > seg.fileoff + seg.filesize) v.problems.push('the signature is not inside __LINKEDIT');
  const sig = b.subarray(dataoff, dataoff + datasize);
  if (sig.length < 12 || sig.readUInt32BE(0) !== CSMAGIC_EMBEDDED_SIGNATURE) return { ...v, problems: [...v.problems, 'no embedded signature SuperBlob'] };
  let cd: Buffer | undefined;
  for (let i = 0; i < sig.readUInt32BE(8); i++) {
    const off = sig.readUInt32BE(16 + i * 8);
    const blob = sig.subarray(off);
    if (blob.readUInt32BE(0) === CSMAGIC_CODEDIRECTORY && blob.readUInt8(37) === HASH_SHA256) cd = blob.subarray(0, blob.readUInt32BE(4));
  }
  if (!cd) return { ...v, problems: [...v.problems, 'no SHA-256 CodeDirectory'] };
  v.flags = cd.readUInt32BE(12);
  const hashOffset = cd.readUInt32BE(16);
  v.identifier = cd.subarray(cd.readUInt32BE(20)).toString('utf8').replace(/\0.*$/s, '');
  const slots = cd.readUInt32BE(28);
  const codeLimit = cd.readUInt32BE(32);
  const pageBits = cd.readUInt8(39);
  v.pages = slots;
  if (codeLimit !== dataoff) v.problems.push(`codeLimit ${codeLimit} is not the signature's offset ${dataoff}`);
  if (slots !== Math.ceil(codeLimit / (1 << pageBits))) v.problems.push('the number of code slots does not cover codeLimit');
  if (cd.readUInt32BE(8) >= 0x20400) {
    const text = info.segments.find((s) => s.name === '__TEXT');
    if (!text || cd.readBigUInt64BE(64) !== BigInt(text.fileoff) || cd.readBigUInt64BE(72) !== BigInt(text.filesize)) v.problems.push('execSeg does not match __TEXT');
  }
  const page = 1 << pageBits;
  for (let i = 0; i < slots; i++) {
    const want = cd.subarray(hashOffset + i * 32, hashOffset + (i + 1) * 32);
    const got = createHash('sha256').update(b.subarray(i * page, Math.min((i + 1) * page, codeLimit))).digest();
    if (!got.equals(want)) {
      v.problems.push(`page ${i} does not match its hash`);
      if (v.problems.length > 5) break;
    }
  }
  v.ok = v.problems.length === 0;
  return v;
}
