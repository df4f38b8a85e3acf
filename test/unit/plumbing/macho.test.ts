import { describe, expect, it } from 'vitest';
import { adhocSign, machoInfo, removeSignature, verifyAdhoc } from '../../../scripts/macho.js';

/** A minimal thin arm64 MH_EXECUTE: __PAGEZERO, __TEXT with one section at 4096, __LINKEDIT at 8192. */
function tinyMacho(opts: { textAt?: number } = {}): Buffer {
  const textAt = opts.textAt ?? 4096;
  const size = 8192 + 300;
  const b = Buffer.alloc(size);
  const seg = (at: number, name: string, vmaddr: bigint, vmsize: bigint, fileoff: number, filesize: number, nsects: number): number => {
    b.writeUInt32LE(0x19, at);
    b.writeUInt32LE(72 + nsects * 80, at + 4);
    b.write(name, at + 8, 'latin1');
    b.writeBigUInt64LE(vmaddr, at + 24);
    b.writeBigUInt64LE(vmsize, at + 32);
    b.writeBigUInt64LE(BigInt(fileoff), at + 40);
    b.writeBigUInt64LE(BigInt(filesize), at + 48);
    b.writeUInt32LE(nsects, at + 64);
    return at + 72;
  };
  b.writeUInt32LE(0xfeedfacf, 0);
  b.writeUInt32LE(0x0100000c, 4);
  b.writeUInt32LE(2, 12); // MH_EXECUTE
  b.writeUInt32LE(3, 16);
  b.writeUInt32LE(72 + 152 + 72, 20);
  let at = seg(32, '__PAGEZERO', 0n, 0x100000000n, 0, 0, 0);
  at = seg(at, '__TEXT', 0x100000000n, 0x4000n, 0, 8192, 1);
  b.write('__text', at, 'latin1');
  b.write('__TEXT', at + 16, 'latin1');
  b.writeBigUInt64LE(BigInt(0x100000000 + textAt), at + 32);
  b.writeBigUInt64LE(100n, at + 40);
  b.writeUInt32LE(textAt, at + 48);
  seg(at + 80, '__LINKEDIT', 0x100004000n, 0x4000n, 8192, 300, 0);
  for (let i = textAt; i < size; i++) b[i] = (i * 7) & 0xff;
  return b;
}

describe('Mach-O ad-hoc signing', () => {
  it('signs so that every page verifies, at the end of __LINKEDIT', () => {
    const signed = adhocSign(tinyMacho(), 'kubectl-insight');
    const v = verifyAdhoc(signed);
    expect(v).toMatchObject({ ok: true, identifier: 'kubectl-insight', flags: 0x2, problems: [] });
    const info = machoInfo(signed);
    const le = info.segments.find((s) => s.name === '__LINKEDIT')!;
    expect(info.signature!.dataoff % 16).toBe(0);
    expect(le.fileoff + le.filesize).toBe(signed.length);
    expect(info.signature!.dataoff + info.signature!.datasize).toBe(signed.length);
    expect(v.pages).toBe(Math.ceil(info.signature!.dataoff / 4096));
  });

  it('finds a changed byte in the signed code, and a changed header', () => {
    const signed = adhocSign(tinyMacho(), 'x');
    const code = Buffer.from(signed);
    code[5000]! ^= 1;
    expect(verifyAdhoc(code).problems).toEqual(['page 1 does not match its hash']);
    const header = Buffer.from(signed);
    header[8]! ^= 1; // cpusubtype, in page 0
    expect(verifyAdhoc(header).ok).toBe(false);
  });

  it('removing the signature gives back the unsigned file; signing again gives the same bytes', () => {
    const plain = tinyMacho();
    const signed = adhocSign(plain, 'kubectl-insight');
    const removed = removeSignature(signed);
    expect(machoInfo(removed).signature).toBeUndefined();
    // The file was padded to 16 bytes before the signature, and __LINKEDIT still covers that padding:
    // apart from its size, the rest is byte for byte the original.
    const le = machoInfo(removed).segments.find((s) => s.name === '__LINKEDIT')!;
    expect(le.filesize).toBe(304);
    removed.writeBigUInt64LE(300n, le.at + 48);
    expect(removed.subarray(0, plain.length).equals(plain)).toBe(true);
    expect(removed.length - plain.length).toBeLessThan(16);
    expect(adhocSign(signed, 'kubectl-insight').equals(signed)).toBe(true);
    expect(removeSignature(plain)).toBe(plain);
  });

  it('refuses what it cannot sign, with the reason', () => {
    expect(() => adhocSign(tinyMacho({ textAt: 32 + 296 + 8 }), 'x')).toThrow(/no room after the load commands/);
    const fat = Buffer.alloc(64);
    fat.writeUInt32BE(0xcafebabe, 0);
    expect(() => adhocSign(fat, 'x')).toThrow(/universal/);
    expect(() => adhocSign(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(64)), 'x')).toThrow(/not a 64-bit Mach-O/);
    expect(verifyAdhoc(tinyMacho()).problems).toEqual(['no LC_CODE_SIGNATURE']);
  });
});
