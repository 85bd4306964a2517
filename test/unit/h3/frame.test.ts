import { describe, expect, it } from 'vitest';
import { H3Error, H3ErrorCode } from '../../../harness/proto/h3/errors.js';
import {
  FrameParser,
  FrameType,
  HTTP2_ONLY_FRAME_TYPES,
  SettingId,
  decodePushPromisePayload,
  decodeSettingsPayload,
  decodeVarintPayload,
  encodeCancelPushFrame,
  encodeDataFrame,
  encodeDataFrameHeader,
  encodeFrame,
  encodeGoawayFrame,
  encodeHeadersFrame,
  encodeMaxPushIdFrame,
  encodePushPromiseFrame,
  encodeSettingsFrame,
  isReservedValue,
  type FrameEvent,
} from '../../../harness/proto/h3/frame.js';
import { concat, hex } from './pair.js';

/** Parses `bytes` fed in pieces of `step` bytes, merging DATA slices so splits compare equal. */
function parse(bytes: Uint8Array, step = bytes.length || 1, parser = new FrameParser()): FrameEvent[] {
  const raw: FrameEvent[] = [];
  for (let i = 0; i < bytes.length; i += step) parser.push(bytes.subarray(i, i + step), raw);
  const merged: FrameEvent[] = [];
  let pending: Uint8Array[] = [];
  for (const e of raw) {
    if (e.kind !== 'data') {
      merged.push(e.kind === 'frame' ? { ...e, payload: e.payload.slice() } : e);
      continue;
    }
    pending.push(e.data.slice());
    if (e.frameEnd) {
      merged.push({ kind: 'data', data: concat(pending), frameEnd: true });
      pending = [];
    }
  }
  if (pending.length > 0) merged.push({ kind: 'data', data: concat(pending), frameEnd: false });
  return merged;
}

function errorCode(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof H3Error) return err.code;
    throw err;
  }
  return undefined;
}

const FIELD_SECTION = hex('0000 d1 d7 c1');

/** One valid encoding of each frame type, and what parsing it yields. */
const VALID_FRAMES: [string, Uint8Array, FrameEvent][] = [
  ['DATA', encodeDataFrame(hex('0102030405')), { kind: 'data', data: hex('0102030405'), frameEnd: true }],
  [
    'empty DATA',
    encodeDataFrame(new Uint8Array(0)),
    { kind: 'data', data: new Uint8Array(0), frameEnd: true },
  ],
  [
    'HEADERS',
    encodeHeadersFrame(FIELD_SECTION),
    { kind: 'frame', type: FrameType.HEADERS, payload: FIELD_SECTION },
  ],
  [
    'CANCEL_PUSH',
    encodeCancelPushFrame(7),
    { kind: 'frame', type: FrameType.CANCEL_PUSH, payload: hex('07') },
  ],
  [
    'SETTINGS',
    encodeSettingsFrame(new Map([[SettingId.MAX_FIELD_SECTION_SIZE, 65536]])),
    { kind: 'frame', type: FrameType.SETTINGS, payload: hex('06 80010000') },
  ],
  [
    'PUSH_PROMISE',
    encodePushPromiseFrame(300, FIELD_SECTION),
    { kind: 'frame', type: FrameType.PUSH_PROMISE, payload: concat([hex('412c'), FIELD_SECTION]) },
  ],
  [
    'GOAWAY',
    encodeGoawayFrame(2 ** 40),
    { kind: 'frame', type: FrameType.GOAWAY, payload: hex('c000010000000000') },
  ],
  [
    'MAX_PUSH_ID',
    encodeMaxPushIdFrame(64),
    { kind: 'frame', type: FrameType.MAX_PUSH_ID, payload: hex('4040') },
  ],
  ['reserved 0x21', encodeFrame(0x21, hex('aabb')), { kind: 'unknown', type: 0x21, length: 2 }],
  ['unknown 0x2f5', encodeFrame(0x2f5, new Uint8Array(100)), { kind: 'unknown', type: 0x2f5, length: 100 }],
];

describe('frame encoders', () => {
  it('encodeDataFrameHeader writes type 0x0 and the length varint', () => {
    expect(encodeDataFrameHeader(5)).toEqual(hex('00 05'));
    expect(encodeDataFrameHeader(1048576)).toEqual(hex('00 80100000'));
  });

  it('encodeSettingsFrame writes identifier/value varint pairs in order', () => {
    const frame = encodeSettingsFrame(
      new Map([
        [SettingId.QPACK_MAX_TABLE_CAPACITY, 0],
        [SettingId.QPACK_BLOCKED_STREAMS, 0],
      ]),
    );
    expect(frame).toEqual(hex('04 04 0100 0700'));
  });

  it('isReservedValue matches 0x1f * N + 0x21 only', () => {
    expect([0x21, 0x40, 0x5f, 0x1f * 1000 + 0x21].every(isReservedValue)).toBe(true);
    expect([0, 1, 0x20, 0x22, 0x41].some(isReservedValue)).toBe(false);
  });
});

describe('frame payload decoders', () => {
  it('decodeSettingsPayload round-trips encodeSettingsFrame, unknown identifiers included', () => {
    const settings = new Map([
      [SettingId.QPACK_MAX_TABLE_CAPACITY, 0],
      [SettingId.MAX_FIELD_SECTION_SIZE, 16384],
      [SettingId.QPACK_BLOCKED_STREAMS, 0],
      [0x1f * 3 + 0x21, 12345],
    ]);
    const [event] = parse(encodeSettingsFrame(settings));
    expect(event?.kind).toBe('frame');
    if (event?.kind !== 'frame') return;
    expect(decodeSettingsPayload(event.payload)).toEqual(settings);
  });

  it('decodeSettingsPayload rejects HTTP/2-only identifiers 0x2-0x5 with H3_SETTINGS_ERROR', () => {
    for (const id of [2, 3, 4, 5]) {
      expect(errorCode(() => decodeSettingsPayload(new Uint8Array([id, 0])))).toBe(
        H3ErrorCode.H3_SETTINGS_ERROR,
      );
    }
  });

  it('decodeSettingsPayload rejects a repeated identifier with H3_SETTINGS_ERROR', () => {
    expect(errorCode(() => decodeSettingsPayload(hex('0600 0601')))).toBe(H3ErrorCode.H3_SETTINGS_ERROR);
  });

  it('decodeSettingsPayload rejects a truncated setting with H3_FRAME_ERROR', () => {
    expect(errorCode(() => decodeSettingsPayload(hex('06')))).toBe(H3ErrorCode.H3_FRAME_ERROR);
    expect(errorCode(() => decodeSettingsPayload(hex('06 80')))).toBe(H3ErrorCode.H3_FRAME_ERROR);
  });

  it('decodeVarintPayload rejects missing and extra bytes with H3_FRAME_ERROR', () => {
    expect(decodeVarintPayload(FrameType.GOAWAY, hex('4004'))).toBe(4);
    expect(errorCode(() => decodeVarintPayload(FrameType.GOAWAY, hex('')))).toBe(H3ErrorCode.H3_FRAME_ERROR);
    expect(errorCode(() => decodeVarintPayload(FrameType.GOAWAY, hex('04 00')))).toBe(
      H3ErrorCode.H3_FRAME_ERROR,
    );
    expect(errorCode(() => decodeVarintPayload(FrameType.MAX_PUSH_ID, hex('40')))).toBe(
      H3ErrorCode.H3_FRAME_ERROR,
    );
  });

  it('decodePushPromisePayload splits push ID and field section', () => {
    const { pushId, fieldSection } = decodePushPromisePayload(concat([hex('412c'), FIELD_SECTION]));
    expect(pushId).toBe(300);
    expect(fieldSection).toEqual(FIELD_SECTION);
  });
});

describe('FrameParser', () => {
  it.each(VALID_FRAMES)('parses a %s frame', (_name, bytes, expected) => {
    const parser = new FrameParser();
    expect(parse(bytes, bytes.length, parser)).toEqual([expected]);
    expect(parser.atFrameBoundary).toBe(true);
  });

  it('gives the same events fed one byte at a time as fed whole', () => {
    const stream = concat(VALID_FRAMES.map(([, bytes]) => bytes));
    const whole = parse(stream);
    expect(whole).toEqual(VALID_FRAMES.map(([, , e]) => e));
    for (const step of [1, 2, 3, 7]) expect(parse(stream, step)).toEqual(whole);
  });

  it.each(VALID_FRAMES)('yields "need more" for every truncated prefix of a %s frame', (_name, bytes) => {
    // quic-go http3/frames_test.go testFrameParserEOF: no prefix throws or yields a complete frame.
    for (let n = 0; n < bytes.length; n++) {
      const parser = new FrameParser();
      let events: FrameEvent[] = [];
      expect(() => (events = parser.push(bytes.subarray(0, n)))).not.toThrow();
      expect(parser.atFrameBoundary).toBe(n === 0);
      for (const e of events) {
        expect(e.kind === 'frame').toBe(false);
        if (e.kind === 'data') expect(e.frameEnd).toBe(false);
      }
    }
  });

  it('streams DATA payload slices as views of the input, without buffering', () => {
    const parser = new FrameParser();
    const header = encodeDataFrameHeader(1000);
    expect(parser.push(header)).toEqual([]);
    const chunk = new Uint8Array(600).fill(7);
    const [first] = parser.push(chunk);
    expect(first).toMatchObject({ kind: 'data', frameEnd: false });
    if (first?.kind !== 'data') return;
    expect(first.data.buffer).toBe(chunk.buffer);
    expect(first.data.length).toBe(600);
    const rest = parser.push(concat([new Uint8Array(400), hex('01')]));
    expect(rest.map((e) => (e.kind === 'data' ? [e.data.length, e.frameEnd] : e.kind))).toEqual([
      [400, true],
    ]);
    expect(parser.atFrameBoundary).toBe(false); // one byte of the next frame header is pending
  });

  it('rejects a HEADERS frame above the buffer limit with H3_EXCESSIVE_LOAD', () => {
    const parser = new FrameParser({ maxBufferedFrameSize: 100 });
    expect(errorCode(() => parser.push(hex('01 4065')))).toBe(H3ErrorCode.H3_EXCESSIVE_LOAD);
  });

  it('rejects GOAWAY, CANCEL_PUSH and MAX_PUSH_ID frames longer than 8 bytes with H3_FRAME_ERROR', () => {
    for (const type of [FrameType.GOAWAY, FrameType.CANCEL_PUSH, FrameType.MAX_PUSH_ID]) {
      expect(errorCode(() => new FrameParser().push(new Uint8Array([type, 9])))).toBe(
        H3ErrorCode.H3_FRAME_ERROR,
      );
    }
  });

  it('rejects HTTP/2-only frame types with H3_FRAME_UNEXPECTED', () => {
    for (const type of HTTP2_ONLY_FRAME_TYPES) {
      expect(errorCode(() => new FrameParser().push(new Uint8Array([type, 0])))).toBe(
        H3ErrorCode.H3_FRAME_UNEXPECTED,
      );
    }
  });

  it('skips a large unknown frame without buffering and survives a 62-bit type', () => {
    const parser = new FrameParser({ maxBufferedFrameSize: 10 });
    const bigType = hex('ffffffffffffffff'); // 2^62-1: reserved? whatever, unknown
    const events = parser.push(concat([bigType, hex('4400'), new Uint8Array(0x400), encodeGoawayFrame(8)]));
    expect(events[0]).toMatchObject({ kind: 'unknown', length: 0x400 });
    expect(events[1]).toEqual({ kind: 'frame', type: FrameType.GOAWAY, payload: hex('08') });
  });
});
