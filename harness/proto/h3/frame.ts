/**
 * HTTP/3 frames (RFC 9114 §7): type and settings constants, encoders, payload decoders, and an
 * incremental parser that can be fed any split of a stream's bytes, down to one byte at a time.
 *
 * The parser streams DATA payloads through as views of the input (no copy, no buffering of the whole
 * frame); other known frames are buffered up to a size limit; unknown and reserved frame types are
 * skipped without buffering.
 */
import { H3Error, H3ErrorCode, connectionError } from './errors.js';
import { readVarint, varintLengthOf, varintSize, writeVarint } from './varint.js';

/** Frame types (RFC 9114 §7.2, §11.2.1). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  CANCEL_PUSH: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  GOAWAY: 0x7,
  MAX_PUSH_ID: 0xd,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

const FRAME_NAMES = new Map<number, string>(Object.entries(FrameType).map(([n, t]) => [t, n]));

/** `HEADERS` for 0x1; other types as hex. */
export function frameTypeName(type: number): string {
  return FRAME_NAMES.get(type) ?? `0x${type.toString(16)}`;
}

/** HTTP/2 frame types with no HTTP/3 equivalent: PRIORITY, PING, WINDOW_UPDATE, CONTINUATION. */
export const HTTP2_ONLY_FRAME_TYPES: readonly number[] = [0x2, 0x6, 0x8, 0x9];

/** Reserved ("grease") values of the form 0x1f * N + 0x21 (frame types, settings, stream types, codes). */
export function isReservedValue(value: number): boolean {
  return value >= 0x21 && (value - 0x21) % 0x1f === 0;
}

/** Settings identifiers (RFC 9114 §7.2.4.1, RFC 9204 §5). */
export const SettingId = {
  QPACK_MAX_TABLE_CAPACITY: 0x1,
  MAX_FIELD_SECTION_SIZE: 0x6,
  QPACK_BLOCKED_STREAMS: 0x7,
} as const;
export type SettingId = (typeof SettingId)[keyof typeof SettingId];

/** HTTP/2 setting identifiers reserved in HTTP/3 (RFC 9114 §11.2.2); receipt is H3_SETTINGS_ERROR. */
export const HTTP2_ONLY_SETTING_IDS: readonly number[] = [0x2, 0x3, 0x4, 0x5];

/** Unidirectional stream types (RFC 9114 §6.2, RFC 9204 §4.2). */
export const StreamType = {
  CONTROL: 0x00,
  PUSH: 0x01,
  QPACK_ENCODER: 0x02,
  QPACK_DECODER: 0x03,
} as const;
export type StreamType = (typeof StreamType)[keyof typeof StreamType];

// ---------------------------------------------------------------------------------------------------
// Encoders
// ---------------------------------------------------------------------------------------------------

/** Type + Length header of a DATA frame carrying `length` payload bytes (payload sent separately). */
export function encodeDataFrameHeader(length: number): Uint8Array {
  const out = new Uint8Array(1 + varintSize(length));
  out[0] = FrameType.DATA;
  writeVarint(out, 1, length);
  return out;
}

/** A whole frame: Type, Length, payload. */
export function encodeFrame(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(varintSize(type) + varintSize(payload.length) + payload.length);
  let off = writeVarint(out, 0, type);
  off = writeVarint(out, off, payload.length);
  out.set(payload, off);
  return out;
}

export function encodeDataFrame(data: Uint8Array): Uint8Array {
  return encodeFrame(FrameType.DATA, data);
}

export function encodeHeadersFrame(encodedFieldSection: Uint8Array): Uint8Array {
  return encodeFrame(FrameType.HEADERS, encodedFieldSection);
}

function encodeVarintFrame(type: number, value: number): Uint8Array {
  const size = varintSize(value);
  const out = new Uint8Array(varintSize(type) + 1 + size);
  let off = writeVarint(out, 0, type);
  off = writeVarint(out, off, size);
  writeVarint(out, off, value);
  return out;
}

export function encodeGoawayFrame(id: number): Uint8Array {
  return encodeVarintFrame(FrameType.GOAWAY, id);
}

export function encodeCancelPushFrame(pushId: number): Uint8Array {
  return encodeVarintFrame(FrameType.CANCEL_PUSH, pushId);
}

export function encodeMaxPushIdFrame(pushId: number): Uint8Array {
  return encodeVarintFrame(FrameType.MAX_PUSH_ID, pushId);
}

export function encodePushPromiseFrame(pushId: number, encodedFieldSection: Uint8Array): Uint8Array {
  const payload = new Uint8Array(varintSize(pushId) + encodedFieldSection.length);
  payload.set(encodedFieldSection, writeVarint(payload, 0, pushId));
  return encodeFrame(FrameType.PUSH_PROMISE, payload);
}

/** Settings in the order given (a Map keeps insertion order). */
export function encodeSettingsFrame(settings: ReadonlyMap<number, number>): Uint8Array {
  let size = 0;
  for (const [id, value] of settings) size += varintSize(id) + varintSize(value);
  const payload = new Uint8Array(size);
  let off = 0;
  for (const [id, value] of settings) {
    off = writeVarint(payload, off, id);
    off = writeVarint(payload, off, value);
  }
  return encodeFrame(FrameType.SETTINGS, payload);
}

// ---------------------------------------------------------------------------------------------------
// Payload decoders (throw H3Error connection errors)
// ---------------------------------------------------------------------------------------------------

//= https://www.rfc-editor.org/rfc/rfc9114#section-7.1
//# Each frame's payload MUST contain exactly the fields identified in
//# its description.  A frame payload that contains additional bytes
//# after the identified fields or a frame payload that terminates before
//# the end of the identified fields MUST be treated as a connection
//# error of type H3_FRAME_ERROR.

/** Reads one varint at `off` of `payload` or throws H3_FRAME_ERROR; returns [value, next offset]. */
function payloadVarint(payload: Uint8Array, off: number, frameName: string): [number, number] {
  const first = payload[off];
  if (first === undefined) {
    throw connectionError(H3ErrorCode.H3_FRAME_ERROR, `${frameName} frame payload ends before a field`);
  }
  const len = varintLengthOf(first);
  if (off + len > payload.length) {
    throw connectionError(H3ErrorCode.H3_FRAME_ERROR, `${frameName} frame payload ends inside a varint`);
  }
  return [readVarint(payload, off, len), off + len];
}

/** Payload of GOAWAY, CANCEL_PUSH and MAX_PUSH_ID: exactly one varint. */
export function decodeVarintPayload(type: number, payload: Uint8Array): number {
  const name = frameTypeName(type);
  const [value, end] = payloadVarint(payload, 0, name);
  if (end !== payload.length) {
    throw connectionError(
      H3ErrorCode.H3_FRAME_ERROR,
      `${name} frame has ${payload.length - end} bytes after its varint field`,
    );
  }
  return value;
}

/** SETTINGS payload → identifier → value, in wire order. */
export function decodeSettingsPayload(payload: Uint8Array): Map<number, number> {
  const settings = new Map<number, number>();
  let off = 0;
  while (off < payload.length) {
    let id: number;
    let value: number;
    [id, off] = payloadVarint(payload, off, 'SETTINGS');
    [value, off] = payloadVarint(payload, off, 'SETTINGS');
    //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.4
    //# The same setting identifier MUST NOT occur more than once in the
    //# SETTINGS frame.  A receiver MAY treat the presence of duplicate
    //# setting identifiers as a connection error of type H3_SETTINGS_ERROR.
    if (settings.has(id)) {
      throw connectionError(
        H3ErrorCode.H3_SETTINGS_ERROR,
        `SETTINGS repeats identifier 0x${id.toString(16)}`,
      );
    }
    //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.4.1
    //# These reserved settings MUST NOT be sent, and
    //# their receipt MUST be treated as a connection error of type
    //# H3_SETTINGS_ERROR.
    if (HTTP2_ONLY_SETTING_IDS.includes(id)) {
      throw connectionError(
        H3ErrorCode.H3_SETTINGS_ERROR,
        `SETTINGS carries HTTP/2-only identifier 0x${id.toString(16)}`,
      );
    }
    settings.set(id, value);
  }
  return settings;
}

/** PUSH_PROMISE payload → push ID and the encoded field section (a view into `payload`). */
export function decodePushPromisePayload(payload: Uint8Array): { pushId: number; fieldSection: Uint8Array } {
  const [pushId, off] = payloadVarint(payload, 0, 'PUSH_PROMISE');
  return { pushId, fieldSection: payload.subarray(off) };
}

// ---------------------------------------------------------------------------------------------------
// Incremental parser
// ---------------------------------------------------------------------------------------------------

/** One item produced by FrameParser.push, in stream order. */
export type FrameEvent =
  /**
   * A slice of a DATA frame payload, a view of the pushed chunk (valid until the caller lets go of
   * that chunk). `frameEnd` marks the frame's last slice. An empty DATA frame gives one empty slice.
   */
  | { readonly kind: 'data'; readonly data: Uint8Array; readonly frameEnd: boolean }
  /** A complete non-DATA frame of a known type, its payload buffered (or a view when unsplit). */
  | { readonly kind: 'frame'; readonly type: number; readonly payload: Uint8Array }
  /** Start of a frame of unknown or reserved type; its payload is skipped. */
  | { readonly kind: 'unknown'; readonly type: number; readonly length: number };

/** Parser states. */
export enum FrameParserState {
  /** Between frames, or inside the Type/Length varints of the next frame header. */
  Header,
  /** Inside a DATA payload: bytes are passed through as slices. */
  DataPayload,
  /** Inside the payload of a known non-DATA frame: bytes are collected until the frame is complete. */
  BufferedPayload,
  /** Inside the payload of an unknown or reserved frame: bytes are dropped. */
  SkipPayload,
  /** A frame violated the layout; the parser refuses further input. */
  Failed,
}

export interface FrameParserOptions {
  /** Largest payload accepted for buffered frames (HEADERS, SETTINGS, PUSH_PROMISE); default 64 KiB. */
  maxBufferedFrameSize?: number;
}

const DEFAULT_MAX_BUFFERED_FRAME_SIZE = 64 * 1024;
/** GOAWAY, CANCEL_PUSH and MAX_PUSH_ID carry one varint: 8 bytes at most. */
const MAX_VARINT_FRAME_SIZE = 8;

function isBufferedType(type: number): boolean {
  return (
    type === FrameType.HEADERS ||
    type === FrameType.SETTINGS ||
    type === FrameType.PUSH_PROMISE ||
    type === FrameType.GOAWAY ||
    type === FrameType.CANCEL_PUSH ||
    type === FrameType.MAX_PUSH_ID
  );
}

const EMPTY = new Uint8Array(0);

export class FrameParser {
  private stateValue = FrameParserState.Header;
  /** Reused buffer for a frame header split across pushes (two varints: at most 16 bytes). */
  private readonly header = new Uint8Array(16);
  private headerLen = 0;
  private type = 0;
  /** Payload bytes still expected in the current frame. */
  private remaining = 0;
  /** Buffered payload of the current frame when it arrives split across pushes. */
  private buffer: Uint8Array = EMPTY;
  private bufferLen = 0;
  private readonly maxBufferedFrameSize: number;

  constructor(options: FrameParserOptions = {}) {
    this.maxBufferedFrameSize = options.maxBufferedFrameSize ?? DEFAULT_MAX_BUFFERED_FRAME_SIZE;
  }

  get state(): FrameParserState {
    return this.stateValue;
  }

  /** True between frames: ending the stream here is clean (RFC 9114 §7.1). */
  get atFrameBoundary(): boolean {
    return this.stateValue === FrameParserState.Header && this.headerLen === 0;
  }

  /**
   * Consumes `chunk`, appending events to `out` (returned). Throws H3Error (connection scope) on a
   * layout violation; events produced before the violation are already in `out`.
   */
  push(chunk: Uint8Array, out: FrameEvent[] = []): FrameEvent[] {
    const n = chunk.length;
    let off = 0;
    while (off < n) {
      switch (this.stateValue) {
        case FrameParserState.Header: {
          if (this.headerLen === 0) {
            // Fast path: the whole header is in this chunk; read it in place.
            const typeLen = varintLengthOf(chunk[off] ?? 0);
            if (off + typeLen < n) {
              const lenLen = varintLengthOf(chunk[off + typeLen] ?? 0);
              if (off + typeLen + lenLen <= n) {
                const type = readVarint(chunk, off, typeLen);
                const length = readVarint(chunk, off + typeLen, lenLen);
                off += typeLen + lenLen;
                this.beginFrame(type, length, out);
                continue;
              }
            }
          }
          // Slow path: collect header bytes one at a time across pushes.
          this.header[this.headerLen++] = chunk[off++] ?? 0;
          const typeLen = varintLengthOf(this.header[0] ?? 0);
          if (this.headerLen <= typeLen) continue;
          const lenLen = varintLengthOf(this.header[typeLen] ?? 0);
          if (this.headerLen < typeLen + lenLen) continue;
          const type = readVarint(this.header, 0, typeLen);
          const length = readVarint(this.header, typeLen, lenLen);
          this.headerLen = 0;
          this.beginFrame(type, length, out);
          continue;
        }
        case FrameParserState.DataPayload: {
          const take = Math.min(this.remaining, n - off);
          this.remaining -= take;
          const frameEnd = this.remaining === 0;
          out.push({ kind: 'data', data: chunk.subarray(off, off + take), frameEnd });
          off += take;
          if (frameEnd) this.stateValue = FrameParserState.Header;
          continue;
        }
        case FrameParserState.BufferedPayload: {
          const take = Math.min(this.remaining, n - off);
          if (this.bufferLen === 0 && take === this.remaining) {
            // The whole payload is in this chunk: hand out a view, no copy.
            out.push({ kind: 'frame', type: this.type, payload: chunk.subarray(off, off + take) });
          } else {
            if (this.bufferLen === 0) this.buffer = new Uint8Array(this.remaining);
            this.buffer.set(chunk.subarray(off, off + take), this.bufferLen);
            this.bufferLen += take;
            if (take === this.remaining) {
              out.push({ kind: 'frame', type: this.type, payload: this.buffer });
              this.buffer = EMPTY;
              this.bufferLen = 0;
            }
          }
          this.remaining -= take;
          off += take;
          if (this.remaining === 0) this.stateValue = FrameParserState.Header;
          continue;
        }
        case FrameParserState.SkipPayload: {
          const take = Math.min(this.remaining, n - off);
          this.remaining -= take;
          off += take;
          if (this.remaining === 0) this.stateValue = FrameParserState.Header;
          continue;
        }
        case FrameParserState.Failed:
          throw connectionError(H3ErrorCode.H3_INTERNAL_ERROR, 'Cannot parse after a frame error');
      }
    }
    return out;
  }

  private beginFrame(type: number, length: number, out: FrameEvent[]): void {
    this.type = type;
    this.remaining = length;
    if (type === FrameType.DATA) {
      if (length === 0) {
        out.push({ kind: 'data', data: EMPTY, frameEnd: true });
      } else {
        this.stateValue = FrameParserState.DataPayload;
      }
      return;
    }
    if (isBufferedType(type)) {
      const limit =
        type === FrameType.GOAWAY || type === FrameType.CANCEL_PUSH || type === FrameType.MAX_PUSH_ID
          ? MAX_VARINT_FRAME_SIZE
          : this.maxBufferedFrameSize;
      if (length > limit) {
        this.stateValue = FrameParserState.Failed;
        throw this.sizeError(type, length, limit);
      }
      if (length === 0) {
        out.push({ kind: 'frame', type, payload: EMPTY });
      } else {
        this.stateValue = FrameParserState.BufferedPayload;
      }
      return;
    }
    //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.8
    //# These frame
    //# types MUST NOT be sent, and their receipt MUST be treated as a
    //# connection error of type H3_FRAME_UNEXPECTED.
    if (HTTP2_ONLY_FRAME_TYPES.includes(type)) {
      this.stateValue = FrameParserState.Failed;
      throw connectionError(
        H3ErrorCode.H3_FRAME_UNEXPECTED,
        `Cannot accept HTTP/2-only frame type 0x${type.toString(16)}`,
      );
    }
    //= https://www.rfc-editor.org/rfc/rfc9114#section-9
    //# Implementations MUST ignore unknown or unsupported values in all
    //# extensible protocol elements.
    out.push({ kind: 'unknown', type, length });
    if (length > 0) this.stateValue = FrameParserState.SkipPayload;
  }

  private sizeError(type: number, length: number, limit: number): H3Error {
    // A single-varint frame longer than 8 bytes cannot be well formed: a layout (size) error. A big
    // HEADERS/SETTINGS frame is well formed but more than we are willing to buffer.
    if (limit === MAX_VARINT_FRAME_SIZE) {
      return connectionError(
        H3ErrorCode.H3_FRAME_ERROR,
        `Cannot parse ${frameTypeName(type)} frame of ${length} bytes: its payload is one varint (<= 8 bytes)`,
      );
    }
    return connectionError(
      H3ErrorCode.H3_EXCESSIVE_LOAD,
      `Cannot buffer ${frameTypeName(type)} frame of ${length} bytes: limit is ${limit}`,
    );
  }
}
