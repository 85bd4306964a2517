import { describe, expect, it } from 'vitest';
import {
  decodeVarint,
  encodeVarint,
  readVarint,
  varintLengthOf,
  varintSize,
  writeVarint,
} from '../../../harness/proto/h3/varint.js';
import { hex } from './pair.js';

describe('encodeVarint / decodeVarint', () => {
  const boundaries: [number, number][] = [
    [0, 1],
    [63, 1],
    [64, 2],
    [16383, 2],
    [16384, 4],
    [2 ** 30 - 1, 4],
    [2 ** 30, 8],
    [2 ** 32, 8],
    [2 ** 53 - 1, 8],
  ];
  it.each(boundaries)('round-trips %d in %d bytes', (value, size) => {
    const bytes = encodeVarint(value);
    expect(bytes.length).toBe(size);
    expect(varintSize(value)).toBe(size);
    expect(varintLengthOf(bytes[0] ?? 0)).toBe(size);
    expect(decodeVarint(bytes)).toEqual({ value, length: size });
  });

  it('decodeVarint reads the RFC 9000 Appendix A.1 examples', () => {
    expect(decodeVarint(hex('9d7f3e7d'))).toEqual({ value: 494878333, length: 4 });
    expect(decodeVarint(hex('7bbd'))).toEqual({ value: 15293, length: 2 });
    expect(decodeVarint(hex('25'))).toEqual({ value: 37, length: 1 });
    expect(decodeVarint(hex('4025'))).toEqual({ value: 37, length: 2 });
  });

  it('decodeVarint rejects a 62-bit value above 2^53-1 with a RangeError', () => {
    // RFC 9000 A.1: 0xc2197c5eff14e88c = 151288809941952652
    expect(() => decodeVarint(hex('c2197c5eff14e88c'))).toThrow(RangeError);
    expect(() => decodeVarint(hex('ffffffffffffffff'))).toThrow(RangeError);
    // readVarint (used by the frame parser) returns the nearest double instead.
    expect(readVarint(hex('c2197c5eff14e88c'), 0, 8)).toBe(Number(151288809941952652n));
  });

  it('decodeVarint returns undefined (need more bytes) for every truncated prefix', () => {
    for (const value of [0, 64, 16384, 2 ** 30, 2 ** 53 - 1]) {
      const bytes = encodeVarint(value);
      for (let n = 0; n < bytes.length; n++) expect(decodeVarint(bytes.subarray(0, n))).toBeUndefined();
    }
  });

  it('decodeVarint reads at an offset', () => {
    const buf = new Uint8Array(10);
    const end = writeVarint(buf, 3, 300);
    expect(end).toBe(5);
    expect(decodeVarint(buf, 3)).toEqual({ value: 300, length: 2 });
  });

  it('encodeVarint rejects negative, fractional and > 2^53-1 values', () => {
    expect(() => encodeVarint(-1)).toThrow(RangeError);
    expect(() => encodeVarint(1.5)).toThrow(RangeError);
    expect(() => encodeVarint(2 ** 53)).toThrow(RangeError);
    expect(() => encodeVarint(Number.NaN)).toThrow(RangeError);
  });
});
