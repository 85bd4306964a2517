/**
 * QUIC variable-length integers (RFC 9000 §16): the two most significant bits of the first byte give
 * the length (1, 2, 4 or 8 bytes), the rest is the value in network byte order, up to 2^62-1.
 *
 * JavaScript numbers are exact up to 2^53-1, so `encodeVarint`/`writeVarint` refuse larger values and
 * `decodeVarint` rejects them with a RangeError. The frame parser needs to survive peers that use
 * 62-bit values where they are allowed (reserved frame types, GOAWAY 2^62-1), so it reads with
 * `readVarint`, which returns an approximate number above 2^53-1 (never equal to a small known value).
 */

/** Largest value this module encodes or strictly decodes. */
export const VARINT_MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Length in bytes of the varint whose first byte is `firstByte`. */
export function varintLengthOf(firstByte: number): 1 | 2 | 4 | 8 {
  return (1 << (firstByte >> 6)) as 1 | 2 | 4 | 8;
}

/** Bytes needed to encode `value`. Throws RangeError for negative, fractional or > 2^53-1 values. */
export function varintSize(value: number): 1 | 2 | 4 | 8 {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Cannot encode ${value} as a QUIC varint: must be an integer in [0, 2^53-1]`);
  }
  if (value < 0x40) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x40000000) return 4;
  return 8;
}

/** Writes `value` at `offset` (caller checks room); returns the offset after it. */
export function writeVarint(buf: Uint8Array, offset: number, value: number): number {
  const size = varintSize(value);
  switch (size) {
    case 1:
      buf[offset] = value;
      return offset + 1;
    case 2:
      buf[offset] = 0x40 | (value >>> 8);
      buf[offset + 1] = value & 0xff;
      return offset + 2;
    case 4:
      buf[offset] = 0x80 | (value >>> 24);
      buf[offset + 1] = (value >>> 16) & 0xff;
      buf[offset + 2] = (value >>> 8) & 0xff;
      buf[offset + 3] = value & 0xff;
      return offset + 4;
    case 8: {
      const hi = Math.floor(value / 0x100000000);
      const lo = value >>> 0;
      buf[offset] = 0xc0 | (hi >>> 24);
      buf[offset + 1] = (hi >>> 16) & 0xff;
      buf[offset + 2] = (hi >>> 8) & 0xff;
      buf[offset + 3] = hi & 0xff;
      buf[offset + 4] = lo >>> 24;
      buf[offset + 5] = (lo >>> 16) & 0xff;
      buf[offset + 6] = (lo >>> 8) & 0xff;
      buf[offset + 7] = lo & 0xff;
      return offset + 8;
    }
  }
}

export function encodeVarint(value: number): Uint8Array {
  const out = new Uint8Array(varintSize(value));
  writeVarint(out, 0, value);
  return out;
}

/**
 * Reads a varint of known length `len` (from `varintLengthOf`) at `offset`; the caller checks that
 * `len` bytes are present. Values above 2^53-1 come back rounded to the nearest double.
 */
export function readVarint(buf: Uint8Array, offset: number, len: number): number {
  switch (len) {
    case 1:
      return buf[offset] ?? 0;
    case 2:
      return (((buf[offset] ?? 0) & 0x3f) << 8) | (buf[offset + 1] ?? 0);
    case 4:
      return (
        ((buf[offset] ?? 0) & 0x3f) * 0x1000000 +
        (((buf[offset + 1] ?? 0) << 16) | ((buf[offset + 2] ?? 0) << 8) | (buf[offset + 3] ?? 0))
      );
    default: {
      const hi =
        ((buf[offset] ?? 0) & 0x3f) * 0x1000000 +
        (((buf[offset + 1] ?? 0) << 16) | ((buf[offset + 2] ?? 0) << 8) | (buf[offset + 3] ?? 0));
      const lo =
        (buf[offset + 4] ?? 0) * 0x1000000 +
        (((buf[offset + 5] ?? 0) << 16) | ((buf[offset + 6] ?? 0) << 8) | (buf[offset + 7] ?? 0));
      return hi * 0x100000000 + lo;
    }
  }
}

export interface DecodedVarint {
  value: number;
  /** Bytes consumed. */
  length: number;
}

/**
 * Decodes the varint at `offset`. Returns `undefined` when `buf` ends before the varint does (need
 * more bytes). Throws RangeError when the value exceeds 2^53-1.
 */
export function decodeVarint(buf: Uint8Array, offset = 0): DecodedVarint | undefined {
  const first = buf[offset];
  if (first === undefined) return undefined;
  const length = varintLengthOf(first);
  if (offset + length > buf.length) return undefined;
  const value = readVarint(buf, offset, length);
  if (value > VARINT_MAX_SAFE) {
    throw new RangeError(`Cannot decode QUIC varint at offset ${offset} as a number: value exceeds 2^53-1`);
  }
  return { value, length };
}
