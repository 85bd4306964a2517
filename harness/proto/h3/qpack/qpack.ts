/**
 * QPACK (RFC 9204) with a dynamic table capacity of 0: we advertise SETTINGS_QPACK_MAX_TABLE_CAPACITY
 * 0 and SETTINGS_QPACK_BLOCKED_STREAMS 0, so field sections only reference the static table, and
 * our encoder never inserts (the peer's limit does not matter). What remains:
 *
 * - field sections: prefix (Required Insert Count 0, Base 0), indexed field line (static), literal
 *   with static name reference, literal with literal name. String literals are Huffman-coded when
 *   that is shorter than the raw bytes.
 * - the peer's encoder stream, which may only carry Set Dynamic Table Capacity 0;
 * - the peer's decoder stream, where Stream Cancellation is parsed and dropped.
 *
 * Field names and values are handled as latin1 strings (one char per byte), as Node's HTTP does.
 */
import { Buffer } from 'node:buffer';
import { H3Error, H3ErrorCode } from '../errors.js';
import { HuffmanDecodeError, huffmanDecodeInto, huffmanEncodeInto, huffmanEncodedLength } from './huffman.js';
import { STATIC_TABLE, findStaticExact, findStaticName } from './static-table.js';

/** One field line: [name, value]. Names are lowercase. */
export type Header = [name: string, value: string];

/** Size of a field line as counted by RFC 9114 §4.2.2 / RFC 9204 §3.2.1: name + value + 32. */
export function fieldLineSize(name: string, value: string): number {
  return name.length + value.length + 32;
}

// ---------------------------------------------------------------------------------------------------
// Primitives: prefixed integers (RFC 7541 §5.1) and string literals (RFC 9204 §4.1.2)
// ---------------------------------------------------------------------------------------------------

/** Position inside a buffer being decoded. */
export interface Cursor {
  pos: number;
}

/** Integers above 2^53-1 cannot be represented; no legitimate field section needs one. */
export class QpackIntegerOverflowError extends RangeError {
  constructor() {
    super('Cannot decode QPACK integer: value exceeds 2^53-1');
    this.name = 'QpackIntegerOverflowError';
  }
}

/**
 * Reads an N-bit prefix integer at `cursor.pos` (N = `prefixBits`, 1..8). Returns the value and
 * advances the cursor, or returns -1 (cursor untouched) when `end` comes first. Throws
 * QpackIntegerOverflowError above 2^53-1.
 */
export function readPrefixedInt(buf: Uint8Array, cursor: Cursor, end: number, prefixBits: number): number {
  let pos = cursor.pos;
  if (pos >= end) return -1;
  const max = (1 << prefixBits) - 1;
  let value = (buf[pos++] ?? 0) & max;
  if (value < max) {
    cursor.pos = pos;
    return value;
  }
  let scale = 1;
  for (;;) {
    if (pos >= end) return -1;
    const b = buf[pos++] ?? 0;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (value > Number.MAX_SAFE_INTEGER) throw new QpackIntegerOverflowError();
    if ((b & 0x80) === 0) break;
    //= https://www.rfc-editor.org/rfc/rfc9204#section-4.1.1
    //# QPACK implementations MUST be able to decode integers up to and
    //# including 62 bits long.
    // 62 bits need at most 9 continuation bytes; more (zero-padded) bytes are refused.
    if (scale > 2 ** 70) throw new QpackIntegerOverflowError();
  }
  cursor.pos = pos;
  return value;
}

/** Growable output buffer, reused between encodes. */
class ByteWriter {
  buf = new Uint8Array(512);
  len = 0;

  ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + extra));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Writes `value` as an N-bit prefix integer; `flags` fills the bits above the prefix. */
  int(prefixBits: number, flags: number, value: number): void {
    this.ensure(10);
    const max = (1 << prefixBits) - 1;
    if (value < max) {
      this.buf[this.len++] = flags | value;
      return;
    }
    this.buf[this.len++] = flags | max;
    let rest = value - max;
    while (rest >= 128) {
      this.buf[this.len++] = (rest % 128) | 0x80;
      rest = Math.floor(rest / 128);
    }
    this.buf[this.len++] = rest;
  }

  /**
   * Writes a string literal whose length has an N-bit prefix (N = `prefixBits`, the H bit is the
   * bit above it). Huffman coding is used when it is shorter than the raw bytes.
   */
  string(prefixBits: number, flags: number, text: string): void {
    const raw = latin1Bytes(text);
    const hLen = huffmanEncodedLength(raw);
    const hBit = 1 << (prefixBits - 1);
    if (hLen < raw.length) {
      this.int(prefixBits - 1, flags | hBit, hLen);
      this.ensure(hLen);
      this.len = huffmanEncodeInto(raw, this.buf, this.len);
    } else {
      this.int(prefixBits - 1, flags, raw.length);
      this.ensure(raw.length);
      this.buf.set(raw, this.len);
      this.len += raw.length;
    }
  }

  /** A copy of what was written; the writer is reset for reuse. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.len);
    this.len = 0;
    return out;
  }
}

let latin1Scratch = new Uint8Array(256);

/** `text` as latin1 bytes in a reused buffer (valid until the next call). */
function latin1Bytes(text: string): Uint8Array {
  if (latin1Scratch.length < text.length) latin1Scratch = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) latin1Scratch[i] = text.charCodeAt(i);
  return latin1Scratch.subarray(0, text.length);
}

function latin1String(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

// ---------------------------------------------------------------------------------------------------
// Field section encoder
// ---------------------------------------------------------------------------------------------------

const writer = new ByteWriter();

/**
 * Encodes a field section using only the static table: an exact static match becomes an indexed
 * field line, a static name match a literal with name reference, anything else a literal with a
 * literal name. Names are lowercased (RFC 9114 §4.2).
 */
export function encodeFieldSection(headers: Iterable<readonly [string, string]>): Uint8Array {
  //= https://www.rfc-editor.org/rfc/rfc9204#section-4.5.1.2
  //# A field section that was encoded without references to the dynamic
  //# table can use any value for the Base; setting Delta Base to zero is
  //# one of the most efficient encodings.
  writer.ensure(2);
  writer.buf[writer.len++] = 0x00; // Required Insert Count 0
  writer.buf[writer.len++] = 0x00; // Sign 0, Delta Base 0
  for (const [rawName, value] of headers) {
    //= https://www.rfc-editor.org/rfc/rfc9114#section-4.2
    //# Characters in field names MUST be
    //# converted to lowercase prior to their encoding.
    const name = /[A-Z]/.test(rawName) ? rawName.toLowerCase() : rawName;
    const exact = findStaticExact(name, value);
    if (exact >= 0) {
      writer.int(6, 0xc0, exact); // 1 T=1 Index(6+)
      continue;
    }
    const nameIndex = findStaticName(name);
    if (nameIndex >= 0) {
      writer.int(4, 0x50, nameIndex); // 01 N=0 T=1 NameIndex(4+)
    } else {
      writer.string(4, 0x20, name); // 001 N=0 H NameLen(3+)
    }
    writer.string(8, 0x00, value); // H ValueLen(7+)
  }
  return writer.take();
}

// ---------------------------------------------------------------------------------------------------
// Field section decoder
// ---------------------------------------------------------------------------------------------------

export interface DecodeFieldSectionOptions {
  /**
   * Largest decoded size (sum of name + value + 32 per line) accepted; beyond it the section is
   * refused with H3_EXCESSIVE_LOAD as a stream error. Default: unlimited.
   */
  maxFieldSectionSize?: number;
}

function decompressionFailed(reason: string, cause?: unknown): H3Error {
  return new H3Error(H3ErrorCode.QPACK_DECOMPRESSION_FAILED, reason, { scope: 'connection', cause });
}

function sectionInt(buf: Uint8Array, cursor: Cursor, prefixBits: number, what: string): number {
  let value: number;
  try {
    value = readPrefixedInt(buf, cursor, buf.length, prefixBits);
  } catch (err) {
    //= https://www.rfc-editor.org/rfc/rfc9204#section-7.4
    //# If an implementation encounters a value larger than it is able to
    //# decode, this MUST be treated as a stream error of type
    //# QPACK_DECOMPRESSION_FAILED if on a request stream or a connection
    //# error of the appropriate type if on the encoder or decoder stream.
    throw new H3Error(H3ErrorCode.QPACK_DECOMPRESSION_FAILED, `Cannot decode ${what}: integer too large`, {
      scope: 'stream',
      cause: err,
    });
  }
  if (value < 0) throw decompressionFailed(`Cannot decode ${what}: field section ends inside it`);
  return value;
}

function sectionString(buf: Uint8Array, cursor: Cursor, prefixBits: number, what: string): string {
  const huffman = ((buf[cursor.pos] ?? 0) & (1 << (prefixBits - 1))) !== 0;
  const length = sectionInt(buf, cursor, prefixBits - 1, `${what} length`);
  const start = cursor.pos;
  if (length > buf.length - start) {
    throw decompressionFailed(
      `Cannot decode ${what}: length ${length} exceeds the ${buf.length - start} bytes left in the field section`,
    );
  }
  cursor.pos = start + length;
  if (!huffman) return latin1String(buf.subarray(start, start + length));
  try {
    return latin1String(huffmanDecodeInto(buf, start, start + length));
  } catch (err) {
    if (err instanceof HuffmanDecodeError)
      throw decompressionFailed(`Cannot decode ${what}: ${err.message}`, err);
    throw err;
  }
}

function staticEntry(index: number): readonly [string, string] {
  const entry = STATIC_TABLE[index];
  //= https://www.rfc-editor.org/rfc/rfc9204#section-3.1
  //# When the decoder encounters an invalid static table index in a field
  //# line representation, it MUST treat this as a connection error of type
  //# QPACK_DECOMPRESSION_FAILED.
  if (entry === undefined) {
    throw decompressionFailed(`Cannot decode field line: static index ${index} is not in 0..98`);
  }
  return entry;
}

function dynamicReference(what: string): H3Error {
  //= https://www.rfc-editor.org/rfc/rfc9204#section-2.2.3
  //# If the decoder encounters a reference in a field line representation
  //# to a dynamic table entry that has already been evicted or that has an
  //# absolute index greater than or equal to the declared Required Insert
  //# Count (Section 4.5.1), it MUST treat this as a connection error of
  //# type QPACK_DECOMPRESSION_FAILED.
  return decompressionFailed(`Cannot decode ${what}: it references the dynamic table, whose capacity is 0`);
}

/** Decodes an encoded field section (the payload of a HEADERS frame). Throws H3Error. */
export function decodeFieldSection(block: Uint8Array, options: DecodeFieldSectionOptions = {}): Header[] {
  const maxSize = options.maxFieldSectionSize ?? Infinity;
  const cursor: Cursor = { pos: 0 };
  const requiredInsertCount = sectionInt(block, cursor, 8, 'Required Insert Count');
  //= https://www.rfc-editor.org/rfc/rfc9204#section-4.5.1.1
  //# If the decoder encounters a value
  //# of EncodedInsertCount that could not have been produced by a
  //# conformant encoder, it MUST treat this as a connection error of type
  //# QPACK_DECOMPRESSION_FAILED.
  if (requiredInsertCount !== 0) {
    throw decompressionFailed(
      `Cannot decode field section with Required Insert Count ${requiredInsertCount}: dynamic table capacity is 0`,
    );
  }
  const sign = ((block[cursor.pos] ?? 0) & 0x80) !== 0;
  const deltaBase = sectionInt(block, cursor, 7, 'Delta Base');
  //= https://www.rfc-editor.org/rfc/rfc9204#section-4.5.1.2
  //# An endpoint MUST treat a field block
  //# with a Sign bit of 1 as invalid if the value of Required Insert Count
  //# is less than or equal to the value of Delta Base.
  if (sign) {
    throw decompressionFailed(`Cannot decode field section: negative Base (Sign 1, Delta Base ${deltaBase})`);
  }
  const headers: Header[] = [];
  let size = 0;
  while (cursor.pos < block.length) {
    const b = block[cursor.pos] ?? 0;
    let name: string;
    let value: string;
    if ((b & 0x80) !== 0) {
      // 1 T Index(6+): indexed field line
      if ((b & 0x40) === 0) throw dynamicReference('indexed field line');
      [name, value] = staticEntry(sectionInt(block, cursor, 6, 'static index'));
    } else if ((b & 0x40) !== 0) {
      // 01 N T NameIndex(4+): literal field line with name reference
      if ((b & 0x10) === 0) throw dynamicReference('literal field line with name reference');
      name = staticEntry(sectionInt(block, cursor, 4, 'static name index'))[0];
      value = sectionString(block, cursor, 8, 'field value');
    } else if ((b & 0x20) !== 0) {
      // 001 N H NameLen(3+): literal field line with literal name
      name = sectionString(block, cursor, 4, 'field name');
      value = sectionString(block, cursor, 8, 'field value');
    } else if ((b & 0x10) !== 0) {
      throw dynamicReference('indexed field line with post-base index');
    } else {
      throw dynamicReference('literal field line with post-base name reference');
    }
    size += fieldLineSize(name, value);
    if (size > maxSize) {
      throw new H3Error(
        H3ErrorCode.H3_EXCESSIVE_LOAD,
        `Cannot accept field section larger than ${maxSize} bytes (decoded size)`,
        { scope: 'stream' },
      );
    }
    headers.push([name, value]);
  }
  return headers;
}

// ---------------------------------------------------------------------------------------------------
// Encoder and decoder streams
// ---------------------------------------------------------------------------------------------------

/** Longest instruction we buffer: one byte plus a 62-bit integer's continuation bytes. */
const MAX_INSTRUCTION_BYTES = 12;

/**
 * Reads the peer's encoder stream (after its stream type byte). With our maximum table capacity of 0
 * the only valid instruction is Set Dynamic Table Capacity 0; anything inserting is an error.
 */
export class QpackEncoderStreamReader {
  private readonly pending = new Uint8Array(MAX_INSTRUCTION_BYTES);
  private pendingLen = 0;
  private readonly cursor: Cursor = { pos: 0 };
  /** Last capacity the peer set. */
  capacity = 0;
  private readonly maxTableCapacity: number;

  constructor(maxTableCapacity = 0) {
    this.maxTableCapacity = maxTableCapacity;
  }

  /** Throws H3Error QPACK_ENCODER_STREAM_ERROR (connection scope). */
  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] ?? 0;
      if (this.pendingLen === 0) this.checkInstruction(b);
      if (this.pendingLen === MAX_INSTRUCTION_BYTES) {
        throw this.error('Set Dynamic Table Capacity integer is too long');
      }
      this.pending[this.pendingLen++] = b;
      this.cursor.pos = 0;
      let value: number;
      try {
        value = readPrefixedInt(this.pending, this.cursor, this.pendingLen, 5);
      } catch (err) {
        throw this.error('Set Dynamic Table Capacity integer is too large', err);
      }
      if (value < 0) continue;
      this.pendingLen = 0;
      //= https://www.rfc-editor.org/rfc/rfc9204#section-4.3.1
      //# The decoder MUST treat a new dynamic table capacity
      //# value that exceeds this limit as a connection error of type
      //# QPACK_ENCODER_STREAM_ERROR.
      if (value > this.maxTableCapacity) {
        throw this.error(`Set Dynamic Table Capacity ${value} exceeds our maximum ${this.maxTableCapacity}`);
      }
      this.capacity = value;
    }
  }

  private checkInstruction(first: number): void {
    if ((first & 0xe0) === 0x20) return; // 001 Capacity(5+)
    const name =
      (first & 0x80) !== 0
        ? 'Insert with Name Reference'
        : (first & 0x40) !== 0
          ? 'Insert with Literal Name'
          : 'Duplicate';
    //= https://www.rfc-editor.org/rfc/rfc9204#section-3.2.2
    //# It is an error if the encoder attempts to add an
    //# entry that is larger than the dynamic table capacity; the decoder
    //# MUST treat this as a connection error of type
    //# QPACK_ENCODER_STREAM_ERROR.
    throw this.error(`${name} instruction received but the dynamic table capacity is ${this.capacity}`);
  }

  private error(reason: string, cause?: unknown): H3Error {
    return new H3Error(H3ErrorCode.QPACK_ENCODER_STREAM_ERROR, `Cannot process encoder stream: ${reason}`, {
      scope: 'connection',
      cause,
    });
  }
}

/** Decoder stream instructions (RFC 9204 §4.4). */
export enum DecoderInstruction {
  /** '1' + stream ID(7+): a field section with dynamic references was decoded. */
  SectionAcknowledgment,
  /** '01' + stream ID(6+): the peer abandoned a stream; nothing to release for us. */
  StreamCancellation,
  /** '00' + increment(6+): the peer received that many more inserts. */
  InsertCountIncrement,
}

/**
 * Reads the peer's decoder stream (after its stream type byte). Our encoder never references the
 * dynamic table, so Stream Cancellation is parsed and dropped, and the other two instructions,
 * which would acknowledge something we never sent, are errors.
 */
export class QpackDecoderStreamReader {
  private readonly pending = new Uint8Array(MAX_INSTRUCTION_BYTES);
  private pendingLen = 0;
  private instruction = DecoderInstruction.StreamCancellation;
  private readonly cursor: Cursor = { pos: 0 };
  /** Stream Cancellation instructions seen (and dropped). */
  cancellations = 0;

  /** Throws H3Error QPACK_DECODER_STREAM_ERROR (connection scope). */
  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] ?? 0;
      if (this.pendingLen === 0) {
        this.instruction =
          (b & 0x80) !== 0
            ? DecoderInstruction.SectionAcknowledgment
            : (b & 0x40) !== 0
              ? DecoderInstruction.StreamCancellation
              : DecoderInstruction.InsertCountIncrement;
      }
      if (this.pendingLen === MAX_INSTRUCTION_BYTES) throw this.error('instruction integer is too long');
      this.pending[this.pendingLen++] = b;
      this.cursor.pos = 0;
      const prefix = this.instruction === DecoderInstruction.SectionAcknowledgment ? 7 : 6;
      let value: number;
      try {
        value = readPrefixedInt(this.pending, this.cursor, this.pendingLen, prefix);
      } catch (err) {
        throw this.error('instruction integer is too large', err);
      }
      if (value < 0) continue;
      this.pendingLen = 0;
      switch (this.instruction) {
        case DecoderInstruction.SectionAcknowledgment:
          //= https://www.rfc-editor.org/rfc/rfc9204#section-4.4.1
          //# If an encoder receives a Section Acknowledgment instruction referring
          //# to a stream on which every encoded field section with a non-zero
          //# Required Insert Count has already been acknowledged, this MUST be
          //# treated as a connection error of type QPACK_DECODER_STREAM_ERROR.
          throw this.error(
            `Section Acknowledgment for stream ${value}, but we never reference the dynamic table`,
          );
        case DecoderInstruction.InsertCountIncrement:
          //= https://www.rfc-editor.org/rfc/rfc9204#section-4.4.3
          //# An encoder that receives an Increment field equal to zero, or one
          //# that increases the Known Received Count beyond what the encoder has
          //# sent, MUST treat this as a connection error of type
          //# QPACK_DECODER_STREAM_ERROR.
          throw this.error(`Insert Count Increment of ${value}, but we never insert`);
        case DecoderInstruction.StreamCancellation:
          this.cancellations++;
          break;
      }
    }
  }

  private error(reason: string, cause?: unknown): H3Error {
    return new H3Error(H3ErrorCode.QPACK_DECODER_STREAM_ERROR, `Cannot process decoder stream: ${reason}`, {
      scope: 'connection',
      cause,
    });
  }
}
