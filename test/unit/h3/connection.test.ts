import { describe, expect, it } from 'vitest';
import { ConnectionState, H3Connection, type H3Role } from '../../../harness/proto/h3/connection.js';
import { H3Error, H3ErrorCode } from '../../../harness/proto/h3/errors.js';
import type { H3Event } from '../../../harness/proto/h3/events.js';
import {
  FrameType,
  SettingId,
  decodeSettingsPayload,
  encodeCancelPushFrame,
  encodeDataFrame,
  encodeFrame,
  encodeGoawayFrame,
  encodeHeadersFrame,
  encodeMaxPushIdFrame,
  encodePushPromiseFrame,
  encodeSettingsFrame,
} from '../../../harness/proto/h3/frame.js';
import { encodeFieldSection, type Header } from '../../../harness/proto/h3/qpack/qpack.js';
import { FakeSink, Pair, bodyOf, concat, hex } from './pair.js';

const GET: Header[] = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':authority', 'bench.example'],
  [':path', '/bytes/1048576'],
];

function megabyte(): Uint8Array {
  const body = new Uint8Array(1024 * 1024);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 10)) & 0xff;
  return body;
}

function headersFrame(headers: readonly Header[]): Uint8Array {
  return encodeHeadersFrame(encodeFieldSection(headers));
}

/** A peer control stream opening: type 0x00 then SETTINGS. */
const PEER_CONTROL = concat([
  hex('00'),
  encodeSettingsFrame(new Map([[SettingId.MAX_FIELD_SECTION_SIZE, 65536]])),
]);

/** An initialized connection of `role` whose peer's control stream is open; raw peer bytes are fed by hand. */
function endpoint(role: H3Role): { conn: H3Connection; sink: FakeSink; feed: typeof feedFn } {
  const sink = new FakeSink(role);
  const conn = new H3Connection(sink, { role, maxFieldSectionSize: 4096 });
  conn.initialize();
  const peerControl = role === 'server' ? 2 : 3;
  const events = conn.handleStreamData(peerControl, PEER_CONTROL, false);
  expect(events.map((e) => e.type)).toEqual(['SettingsReceived']);
  function feedFn(streamId: number, bytes: Uint8Array | string, fin = false): H3Event[] {
    return conn.handleStreamData(streamId, typeof bytes === 'string' ? hex(bytes) : bytes, fin);
  }
  return { conn, sink, feed: feedFn };
}

function expectConnectionError(events: H3Event[], sink: FakeSink, code: number): void {
  const last = events[events.length - 1];
  expect(last?.type).toBe('ConnectionError');
  if (last?.type !== 'ConnectionError') return;
  expect(last.code).toBe(code);
  expect(last.error.local).toBe(true);
  expect(last.error.scope).toBe('connection');
  expect(sink.closed?.code).toBe(code);
  expect(sink.closeCalls).toBe(1);
}

function expectStreamError(events: H3Event[], sink: FakeSink, streamId: number, code: number): void {
  const last = events[events.length - 1];
  expect(last).toMatchObject({ type: 'StreamReset', streamId, code });
  if (last?.type === 'StreamReset') expect(last.error.local).toBe(true);
  // RESET_STREAM unless our side already sent FIN; STOP_SENDING unless the peer already did.
  const actions = sink.log.filter((a) => a.op !== 'data' && a.streamId === streamId);
  expect(actions.length).toBeGreaterThan(0);
  for (const a of actions) expect(a).toMatchObject({ code });
  expect(sink.closed).toBeUndefined();
}

describe('H3Connection.initialize', () => {
  it('opens the control stream with SETTINGS first, then the QPACK encoder and decoder streams', () => {
    const sink = new FakeSink('client');
    new H3Connection(sink, {
      role: 'client',
      maxFieldSectionSize: 16384,
      greaseSettings: false,
    }).initialize();
    expect(sink.log.map((a) => (a.op === 'data' ? [a.streamId, a.data[0], a.fin] : a.op))).toEqual([
      [2, 0x00, false],
      [6, 0x02, false],
      [10, 0x03, false],
    ]);
    const control = sink.written(2);
    expect(control[1]).toBe(FrameType.SETTINGS);
    const settings = decodeSettingsPayload(control.subarray(3));
    expect(settings).toEqual(
      new Map([
        [SettingId.QPACK_MAX_TABLE_CAPACITY, 0],
        [SettingId.QPACK_BLOCKED_STREAMS, 0],
        [SettingId.MAX_FIELD_SECTION_SIZE, 16384],
      ]),
    );
  });
});

describe('H3Connection client/server pair', () => {
  it.each([
    ['whole', false],
    ['byte by byte', true],
  ])('exchanges a GET and a 1 MB response fed %s', (_how, byteByByte) => {
    const pair = new Pair({ byteByByte }).connect();
    expect(pair.serverEvents.map((e) => e.type)).toEqual(['SettingsReceived']);
    expect(pair.clientEvents.map((e) => e.type)).toEqual(['SettingsReceived']);

    const id = pair.client.getNextRequestStreamId();
    expect(id).toBe(0);
    pair.client.sendHeaders(id, [...GET, ['x-request-id', '7']], true);
    pair.pump();
    expect(pair.serverEvents.slice(1)).toEqual([
      {
        type: 'HeadersReceived',
        streamId: 0,
        headers: [...GET, ['x-request-id', '7']],
        fin: true,
        trailers: false,
        interim: false,
      },
    ]);

    const body = megabyte();
    pair.server.sendHeaders(id, [
      [':status', '200'],
      ['content-length', String(body.length)],
      ['x-request-id', '7'],
    ]);
    pair.server.sendData(id, body, true);
    // The payload went to the sink as the caller's buffer, after a separate DATA frame header.
    const writes = pair.serverSink.log.filter((a) => a.op === 'data' && a.streamId === id);
    expect(writes).toHaveLength(3);
    expect(writes[2]?.op === 'data' && writes[2].data === body && writes[2].fin).toBe(true);

    pair.pump();
    const clientEvents = pair.clientEvents.slice(1);
    expect(clientEvents[0]).toMatchObject({
      type: 'HeadersReceived',
      streamId: 0,
      headers: [
        [':status', '200'],
        ['content-length', '1048576'],
        ['x-request-id', '7'],
      ],
      fin: false,
    });
    expect(Buffer.compare(bodyOf(clientEvents, id), body)).toBe(0);
    const last = clientEvents[clientEvents.length - 1];
    expect(last).toMatchObject({ type: 'DataReceived', fin: true });
    expect(clientEvents.filter((e) => e.type === 'DataReceived' && e.fin)).toHaveLength(1);
    expect(pair.client.activeStreamCount).toBe(0);
    expect(pair.server.activeStreamCount).toBe(0);
    expect(pair.clientSink.closed).toBeUndefined();
    expect(pair.serverSink.closed).toBeUndefined();
  });

  it('carries a POST body and trailers in both directions', () => {
    const pair = new Pair().connect();
    const id = pair.client.getNextRequestStreamId();
    pair.client.sendHeaders(id, [[':method', 'POST'], ...GET.slice(1), ['content-length', '6']]);
    pair.client.sendData(id, hex('010203'));
    pair.client.sendData(id, hex('040506'));
    pair.client.sendHeaders(id, [['x-checksum', 'abc']], true);
    pair.pump();
    const serverEvents = pair.serverEvents.slice(1);
    expect(serverEvents.map((e) => e.type)).toEqual([
      'HeadersReceived',
      'DataReceived',
      'DataReceived',
      'HeadersReceived',
    ]);
    expect(bodyOf(serverEvents, id)).toEqual(hex('010203040506'));
    expect(serverEvents[3]).toMatchObject({ trailers: true, fin: true, headers: [['x-checksum', 'abc']] });

    pair.server.sendHeaders(id, [
      [':status', '103'],
      ['link', '</s.css>; rel=preload'],
    ]);
    pair.server.sendHeaders(id, [[':status', '200']]);
    pair.server.sendData(id, hex('ff'));
    pair.server.sendHeaders(id, [['grpc-status', '0']], true);
    pair.pump();
    const clientEvents = pair.clientEvents.slice(1);
    expect(
      clientEvents.map((e) => (e.type === 'HeadersReceived' ? [e.interim, e.trailers, e.fin] : e.type)),
    ).toEqual([[true, false, false], [false, false, false], 'DataReceived', [false, true, true]]);
    expect(pair.client.activeStreamCount).toBe(0);
    expect(pair.server.activeStreamCount).toBe(0);
  });

  it('runs many requests on one connection, several in parallel', () => {
    const pair = new Pair({ byteByByte: true }).connect();
    const ids = [0, 1, 2, 3, 4].map(() => pair.client.getNextRequestStreamId());
    for (const id of ids) pair.client.sendHeaders(id, [...GET.slice(0, 3), [':path', `/r/${id}`]], true);
    pair.pump();
    for (const id of ids.reverse()) {
      pair.server.sendHeaders(id, [[':status', '200']]);
      pair.server.sendData(id, new TextEncoder().encode(`body ${id}`), true);
    }
    pair.pump();
    for (const id of ids) expect(new TextDecoder().decode(bodyOf(pair.clientEvents, id))).toBe(`body ${id}`);
    expect(pair.client.activeStreamCount).toBe(0);
    expect(pair.server.activeStreamCount).toBe(0);
  });

  it('a HEAD response or 204 may declare content-length without DATA', () => {
    const pair = new Pair().connect();
    const head = pair.client.getNextRequestStreamId();
    pair.client.sendHeaders(head, [[':method', 'HEAD'], ...GET.slice(1)], true);
    pair.pump();
    pair.server.sendHeaders(
      head,
      [
        [':status', '200'],
        ['content-length', '1000'],
      ],
      true,
    );
    pair.pump();
    expect(pair.clientEvents[pair.clientEvents.length - 1]).toMatchObject({
      type: 'HeadersReceived',
      fin: true,
    });
    expect(pair.clientSink.closed).toBeUndefined();
    expect(pair.clientSink.log.filter((a) => a.op === 'reset')).toEqual([]);
  });

  it('sendGoaway makes the client refuse new requests and the server reject later streams', () => {
    const pair = new Pair().connect();
    const first = pair.client.getNextRequestStreamId();
    pair.client.sendHeaders(first, GET, true);
    pair.pump();
    pair.server.sendGoaway(4);
    pair.pump();
    expect(pair.clientEvents[pair.clientEvents.length - 1]).toEqual({ type: 'GoawayReceived', id: 4 });
    expect(() => pair.client.getNextRequestStreamId()).toThrow(H3Error);
    expect(() => {
      pair.server.sendGoaway(8);
    }).toThrow(H3Error);
    // A request that crossed the GOAWAY is rejected.
    pair.server.handleStreamData(4, headersFrame(GET), true);
    expect(pair.serverSink.log).toContainEqual({
      op: 'reset',
      streamId: 4,
      code: H3ErrorCode.H3_REQUEST_REJECTED,
    });
  });

  it('handleStreamReset on a request stream yields a remote StreamReset', () => {
    const pair = new Pair().connect();
    const id = pair.client.getNextRequestStreamId();
    pair.client.sendHeaders(id, GET, true);
    pair.pump();
    pair.server.cancelStream(id, H3ErrorCode.H3_REQUEST_REJECTED);
    pair.pump();
    const last = pair.clientEvents[pair.clientEvents.length - 1];
    expect(last).toMatchObject({ type: 'StreamReset', streamId: id, code: H3ErrorCode.H3_REQUEST_REJECTED });
    if (last?.type === 'StreamReset') expect(last.error.local).toBe(false);
    expect(pair.server.activeStreamCount).toBe(0);
  });
});

describe('H3Connection send-side misuse throws H3Error', () => {
  it('rejects DATA before headers, malformed headers and sending after fin', () => {
    const pair = new Pair().connect();
    const id = pair.client.getNextRequestStreamId();
    expect(() => {
      pair.client.sendData(id, hex('00'));
    }).toThrow(H3Error);
    expect(() => {
      pair.client.sendHeaders(id, [[':method', 'GET']]);
    }).toThrow(/Malformed message/);
    pair.client.sendHeaders(id, GET, true);
    expect(() => {
      pair.client.sendData(id, hex('00'));
    }).toThrow(H3Error);
  });
});

describe('H3Connection control stream errors', () => {
  it('closes with H3_MISSING_SETTINGS when the first control frame is not SETTINGS', () => {
    const sink = new FakeSink('server');
    const conn = new H3Connection(sink, { role: 'server' });
    conn.initialize();
    expectConnectionError(
      conn.handleStreamData(2, concat([hex('00'), encodeGoawayFrame(0)]), false),
      sink,
      H3ErrorCode.H3_MISSING_SETTINGS,
    );
  });

  it('closes with H3_MISSING_SETTINGS when the first control frame is of unknown type', () => {
    const sink = new FakeSink('client');
    const conn = new H3Connection(sink, { role: 'client' });
    expectConnectionError(
      conn.handleStreamData(3, concat([hex('00'), encodeFrame(0x21, hex('00'))]), false),
      sink,
      H3ErrorCode.H3_MISSING_SETTINGS,
    );
  });

  it.each([
    ['a second control stream', '', concat([hex('00'), encodeSettingsFrame(new Map())])],
    ['a second QPACK encoder stream', '02', hex('02')],
    ['a second QPACK decoder stream', '03', hex('03')],
  ])('closes with H3_STREAM_CREATION_ERROR on %s', (_what, first, second) => {
    const { sink, feed } = endpoint('server');
    if (first !== '') expect(feed(6, first)).toEqual([]);
    expectConnectionError(feed(10, second), sink, H3ErrorCode.H3_STREAM_CREATION_ERROR);
  });

  it.each([
    ['FIN on the control stream', 2, ''],
    ['FIN on the QPACK encoder stream', 6, '02'],
    ['FIN on the QPACK decoder stream', 6, '03'],
  ])('closes with H3_CLOSED_CRITICAL_STREAM on %s', (_what, id, opening) => {
    const { sink, feed } = endpoint('server');
    if (opening !== '') feed(id, opening);
    expectConnectionError(feed(id, '', true), sink, H3ErrorCode.H3_CLOSED_CRITICAL_STREAM);
  });

  it('closes with H3_CLOSED_CRITICAL_STREAM when the control stream is reset', () => {
    const { conn, sink } = endpoint('client');
    expectConnectionError(
      conn.handleStreamReset(3, H3ErrorCode.H3_NO_ERROR),
      sink,
      H3ErrorCode.H3_CLOSED_CRITICAL_STREAM,
    );
  });

  it.each([
    ['DATA', encodeDataFrame(hex('00'))],
    ['HEADERS', headersFrame(GET)],
    ['a second SETTINGS', encodeSettingsFrame(new Map())],
    ['PUSH_PROMISE', encodePushPromiseFrame(0, encodeFieldSection(GET))],
    ['an HTTP/2 PING (0x6)', encodeFrame(0x6, new Uint8Array(8))],
  ])('closes with H3_FRAME_UNEXPECTED on %s on the control stream', (_what, frame) => {
    const { sink, feed } = endpoint('client');
    expectConnectionError(feed(3, frame), sink, H3ErrorCode.H3_FRAME_UNEXPECTED);
  });

  it('closes with H3_FRAME_UNEXPECTED when a client receives MAX_PUSH_ID', () => {
    const { sink, feed } = endpoint('client');
    expectConnectionError(feed(3, encodeMaxPushIdFrame(3)), sink, H3ErrorCode.H3_FRAME_UNEXPECTED);
  });

  it('accepts growing MAX_PUSH_ID at a server and closes with H3_ID_ERROR when it shrinks', () => {
    const { sink, feed } = endpoint('server');
    expect(feed(2, concat([encodeMaxPushIdFrame(3), encodeMaxPushIdFrame(5)]))).toEqual([]);
    expectConnectionError(feed(2, encodeMaxPushIdFrame(4)), sink, H3ErrorCode.H3_ID_ERROR);
  });

  it.each<[H3Role, number]>([
    ['client', 3],
    ['server', 2],
  ])('closes with H3_ID_ERROR on CANCEL_PUSH at a %s (no push allowed)', (role, control) => {
    const { sink, feed } = endpoint(role);
    expectConnectionError(feed(control, encodeCancelPushFrame(0)), sink, H3ErrorCode.H3_ID_ERROR);
  });

  it('closes with H3_ID_ERROR on a GOAWAY that is not a client bidirectional stream ID', () => {
    const { sink, feed } = endpoint('client');
    expectConnectionError(feed(3, encodeGoawayFrame(5)), sink, H3ErrorCode.H3_ID_ERROR);
  });

  it('closes with H3_ID_ERROR on a GOAWAY larger than the previous one', () => {
    const { sink, feed } = endpoint('client');
    expect(feed(3, encodeGoawayFrame(8))).toEqual([{ type: 'GoawayReceived', id: 8 }]);
    expect(feed(3, encodeGoawayFrame(4))).toEqual([{ type: 'GoawayReceived', id: 4 }]);
    expectConnectionError(feed(3, encodeGoawayFrame(8)), sink, H3ErrorCode.H3_ID_ERROR);
  });

  it('accepts a client GOAWAY carrying push ID 2^62-1', () => {
    const { sink, feed } = endpoint('server');
    expect(feed(2, hex('07 08 ffffffffffffffff'))).toHaveLength(1);
    expect(sink.closed).toBeUndefined();
  });

  it('closes with H3_FRAME_ERROR on a GOAWAY with extra payload bytes', () => {
    const { sink, feed } = endpoint('client');
    expectConnectionError(feed(3, hex('07 02 00 00')), sink, H3ErrorCode.H3_FRAME_ERROR);
  });

  it('closes with H3_FRAME_ERROR on a GOAWAY longer than 8 bytes', () => {
    const { sink, feed } = endpoint('client');
    expectConnectionError(feed(3, hex('07 09')), sink, H3ErrorCode.H3_FRAME_ERROR);
  });

  it.each([
    ['an HTTP/2-only identifier', '04 02 0300'],
    ['a repeated identifier', '04 04 0600 0600'],
  ])('closes with H3_SETTINGS_ERROR on SETTINGS with %s', (_what, frame) => {
    const sink = new FakeSink('server');
    const conn = new H3Connection(sink, { role: 'server' });
    expectConnectionError(
      conn.handleStreamData(2, hex(`00 ${frame}`), false),
      sink,
      H3ErrorCode.H3_SETTINGS_ERROR,
    );
  });

  it('closes with H3_FRAME_ERROR on SETTINGS that ends inside a varint', () => {
    const sink = new FakeSink('server');
    const conn = new H3Connection(sink, { role: 'server' });
    expectConnectionError(
      conn.handleStreamData(2, hex('00 04 02 0640'), false),
      sink,
      H3ErrorCode.H3_FRAME_ERROR,
    );
  });

  it('ignores unknown and reserved frame types after SETTINGS', () => {
    const { sink, feed } = endpoint('server');
    expect(
      feed(2, concat([encodeFrame(0x21, hex('0102')), encodeFrame(0x2f5, new Uint8Array(3000))])),
    ).toEqual([]);
    expect(sink.closed).toBeUndefined();
  });
});

describe('H3Connection unidirectional stream types', () => {
  it('stops reading an unknown stream type with H3_STREAM_CREATION_ERROR and keeps the connection', () => {
    const { sink, feed } = endpoint('server');
    expect(feed(6, '40 21 deadbeef')).toEqual([]); // reserved type 0x21 as a 2-byte varint
    expect(feed(6, 'cafe', true)).toEqual([]);
    expect(sink.log).toContainEqual({
      op: 'stopSending',
      streamId: 6,
      code: H3ErrorCode.H3_STREAM_CREATION_ERROR,
    });
    expect(sink.closed).toBeUndefined();
  });

  it('tolerates a unidirectional stream closed or reset before its type', () => {
    const { conn, sink, feed } = endpoint('server');
    expect(feed(6, '', true)).toEqual([]);
    expect(conn.handleStreamReset(10, 0)).toEqual([]);
    expect(feed(14, '40')).toEqual([]);
    expect(feed(14, '', true)).toEqual([]);
    expect(sink.closed).toBeUndefined();
  });

  it('closes with H3_ID_ERROR when a client receives a push stream (no MAX_PUSH_ID sent)', () => {
    const { sink, feed } = endpoint('client');
    expectConnectionError(feed(7, '01 00'), sink, H3ErrorCode.H3_ID_ERROR);
  });

  it('closes with H3_STREAM_CREATION_ERROR when a server receives a push stream', () => {
    const { sink, feed } = endpoint('server');
    expectConnectionError(feed(6, '01'), sink, H3ErrorCode.H3_STREAM_CREATION_ERROR);
  });

  it('closes with H3_STREAM_CREATION_ERROR when a client receives a server-initiated bidirectional stream', () => {
    const { sink, feed } = endpoint('client');
    expectConnectionError(feed(1, headersFrame(GET)), sink, H3ErrorCode.H3_STREAM_CREATION_ERROR);
  });

  it('accepts Set Dynamic Table Capacity 0 and Stream Cancellation on the QPACK streams', () => {
    const { sink, feed } = endpoint('server');
    expect(feed(6, '02 20')).toEqual([]);
    expect(feed(10, '03 48 7f')).toEqual([]);
    expect(feed(10, '25')).toEqual([]);
    expect(sink.closed).toBeUndefined();
  });

  it('closes with QPACK_ENCODER_STREAM_ERROR when the encoder stream inserts', () => {
    const { sink, feed } = endpoint('server');
    expectConnectionError(feed(6, '02 3fbd01 c00f 7777'), sink, H3ErrorCode.QPACK_ENCODER_STREAM_ERROR);
  });

  it('closes with QPACK_DECODER_STREAM_ERROR on a Section Acknowledgment', () => {
    const { sink, feed } = endpoint('client');
    expectConnectionError(feed(7, '03 84'), sink, H3ErrorCode.QPACK_DECODER_STREAM_ERROR);
  });
});

describe('H3Connection request stream errors', () => {
  it('closes with H3_FRAME_UNEXPECTED on DATA before HEADERS', () => {
    const { sink, feed } = endpoint('server');
    expectConnectionError(feed(0, encodeDataFrame(hex('00'))), sink, H3ErrorCode.H3_FRAME_UNEXPECTED);
  });

  it('closes with H3_FRAME_UNEXPECTED on an empty DATA frame before HEADERS', () => {
    const { sink, feed } = endpoint('server');
    expectConnectionError(feed(0, '00 00'), sink, H3ErrorCode.H3_FRAME_UNEXPECTED);
  });

  it.each([
    ['SETTINGS', encodeSettingsFrame(new Map())],
    ['GOAWAY', encodeGoawayFrame(0)],
    ['MAX_PUSH_ID', encodeMaxPushIdFrame(0)],
    ['CANCEL_PUSH', encodeCancelPushFrame(0)],
    ['PUSH_PROMISE from a client', encodePushPromiseFrame(0, encodeFieldSection(GET))],
    ['HTTP/2 PRIORITY (0x2)', encodeFrame(0x2, hex('00'))],
    ['HTTP/2 WINDOW_UPDATE (0x8)', encodeFrame(0x8, hex('00000001'))],
    ['HTTP/2 CONTINUATION (0x9)', encodeFrame(0x9, hex('00'))],
  ])('closes with H3_FRAME_UNEXPECTED on %s on a request stream', (_what, frame) => {
    const { sink, feed } = endpoint('server');
    expectConnectionError(feed(0, concat([headersFrame(GET), frame])), sink, H3ErrorCode.H3_FRAME_UNEXPECTED);
  });

  it('closes with H3_ID_ERROR when a client receives PUSH_PROMISE', () => {
    const { conn, sink, feed } = endpoint('client');
    const id = conn.getNextRequestStreamId();
    conn.sendHeaders(id, GET, true);
    expectConnectionError(
      feed(id, encodePushPromiseFrame(0, encodeFieldSection(GET))),
      sink,
      H3ErrorCode.H3_ID_ERROR,
    );
  });

  it('accepts trailers, then closes with H3_FRAME_UNEXPECTED on HEADERS or DATA after them', () => {
    for (const extra of [headersFrame([['x', '1']]), encodeDataFrame(hex('00'))]) {
      const { sink, feed } = endpoint('server');
      const events = feed(
        0,
        concat([headersFrame(GET), encodeDataFrame(hex('0102')), headersFrame([['x-sum', '3']])]),
      );
      expect(events.map((e) => e.type)).toEqual(['HeadersReceived', 'DataReceived', 'HeadersReceived']);
      expect(events[2]).toMatchObject({ trailers: true });
      expectConnectionError(feed(0, extra), sink, H3ErrorCode.H3_FRAME_UNEXPECTED);
    }
  });

  it('ignores unknown frame types on a request stream', () => {
    const { sink, feed } = endpoint('server');
    const events = feed(
      0,
      concat([encodeFrame(0x21, hex('00')), headersFrame(GET), encodeFrame(0x40, hex(''))]),
      true,
    );
    expect(events).toMatchObject([{ type: 'HeadersReceived', fin: true }]);
    expect(sink.closed).toBeUndefined();
  });

  it('closes with H3_FRAME_ERROR when a request stream ends inside a frame', () => {
    const { sink, feed } = endpoint('server');
    const frame = headersFrame(GET);
    expectConnectionError(
      feed(0, frame.subarray(0, frame.length - 1), true),
      sink,
      H3ErrorCode.H3_FRAME_ERROR,
    );
  });

  it('closes with H3_EXCESSIVE_LOAD on a HEADERS frame above maxFieldSectionSize', () => {
    const { sink, feed } = endpoint('server');
    expectConnectionError(feed(0, hex('01 5001')), sink, H3ErrorCode.H3_EXCESSIVE_LOAD);
  });

  it('closes with QPACK_DECOMPRESSION_FAILED on a dynamic table reference', () => {
    const { sink, feed } = endpoint('server');
    expectConnectionError(
      feed(0, encodeHeadersFrame(hex('0381 10 11'))),
      sink,
      H3ErrorCode.QPACK_DECOMPRESSION_FAILED,
    );
  });

  it('resets the stream with H3_REQUEST_INCOMPLETE when a request stream ends without HEADERS', () => {
    const { sink, feed } = endpoint('server');
    expectStreamError(feed(0, '', true), sink, 0, H3ErrorCode.H3_REQUEST_INCOMPLETE);
    // The peer finished sending: no STOP_SENDING for a stream already ended.
    expect(sink.log.filter((a) => a.op === 'stopSending')).toEqual([]);
  });
});

describe('H3Connection malformed messages are stream errors (H3_MESSAGE_ERROR)', () => {
  it.each<[string, Header[]]>([
    ['no :method', GET.slice(1)],
    ['no :path', GET.filter(([n]) => n !== ':path')],
    ['no :authority or host', GET.filter(([n]) => n !== ':authority')],
    ['a pseudo-header after a regular field', [['accept', '*/*'], ...GET]],
    ['a duplicate :method', [...GET.slice(0, 1), ...GET]],
    ['an uppercase field name', [...GET, ['X-Upper', '1']]],
    ['connection: keep-alive', [...GET, ['connection', 'keep-alive']]],
    ['transfer-encoding: chunked', [...GET, ['transfer-encoding', 'chunked']]],
    ['te: gzip', [...GET, ['te', 'gzip']]],
    [':status in a request', [...GET, [':status', '200']]],
  ])('resets a request with %s and keeps the connection', (_what, headers) => {
    const { conn, sink, feed } = endpoint('server');
    // Encode by hand so the encoder does not lowercase or validate.
    const section = headers.some(([n]) => /[A-Z]/.test(n))
      ? concat([
          encodeFieldSection(headers.filter(([n]) => !/[A-Z]/.test(n))),
          hex('27 00 582d5570706572 01 31'),
        ])
      : encodeFieldSection(headers);
    const events = feed(0, encodeHeadersFrame(section), false);
    expectStreamError(events, sink, 0, H3ErrorCode.H3_MESSAGE_ERROR);
    expect(sink.log).toContainEqual({ op: 'reset', streamId: 0, code: H3ErrorCode.H3_MESSAGE_ERROR });
    expect(sink.log).toContainEqual({ op: 'stopSending', streamId: 0, code: H3ErrorCode.H3_MESSAGE_ERROR });
    // Later input on that stream is dropped; other streams still work.
    expect(feed(0, encodeDataFrame(hex('00')), true)).toEqual([]);
    expect(feed(4, headersFrame(GET), true)).toMatchObject([
      { type: 'HeadersReceived', streamId: 4, fin: true },
    ]);
    expect(conn.state).toBe(ConnectionState.Open);
  });

  it('resets a response without :status at the client', () => {
    const { conn, sink, feed } = endpoint('client');
    const id = conn.getNextRequestStreamId();
    conn.sendHeaders(id, GET, true);
    expectStreamError(feed(id, headersFrame([['server', 'x']])), sink, id, H3ErrorCode.H3_MESSAGE_ERROR);
  });

  it('resets the stream when DATA exceeds content-length', () => {
    const { sink, feed } = endpoint('server');
    const events = feed(
      0,
      concat([headersFrame([...GET, ['content-length', '2']]), encodeDataFrame(hex('010203'))]),
    );
    expectStreamError(events, sink, 0, H3ErrorCode.H3_MESSAGE_ERROR);
  });

  it('resets the stream when the stream ends short of content-length', () => {
    const { sink, feed } = endpoint('server');
    const events = feed(
      0,
      concat([headersFrame([...GET, ['content-length', '4']]), encodeDataFrame(hex('010203'))]),
      true,
    );
    expectStreamError(events, sink, 0, H3ErrorCode.H3_MESSAGE_ERROR);
  });

  it('fails a response stream that ends without a final response', () => {
    const { conn, sink, feed } = endpoint('client');
    const id = conn.getNextRequestStreamId();
    conn.sendHeaders(id, GET, true);
    const events = feed(id, headersFrame([[':status', '100']]), true);
    expect(events.map((e) => e.type)).toEqual(['HeadersReceived', 'StreamReset']);
    expect(events[1]).toMatchObject({ streamId: id, code: H3ErrorCode.H3_MESSAGE_ERROR });
    // Both directions were already finished: nothing to reset or stop.
    expect(sink.log.filter((a) => a.op !== 'data')).toEqual([]);
    expect(sink.closed).toBeUndefined();
    expect(conn.activeStreamCount).toBe(0);
  });
});

describe('H3Connection robustness', () => {
  it('ignores all input after a connection error and calls closeConnection once', () => {
    const { conn, sink, feed } = endpoint('server');
    expectConnectionError(feed(0, '00 01 00'), sink, H3ErrorCode.H3_FRAME_UNEXPECTED);
    expect(feed(4, headersFrame(GET), true)).toEqual([]);
    expect(conn.handleStreamReset(2, 0)).toEqual([]);
    expect(sink.closeCalls).toBe(1);
    expect(conn.state).toBe(ConnectionState.Closed);
  });

  it('never throws on random input to any stream, whole or byte by byte', () => {
    let seed = 0x9e3779b9;
    const random = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const valid = concat([headersFrame(GET), encodeDataFrame(hex('0102030405')), headersFrame([['x', 'y']])]);
    for (let round = 0; round < 300; round++) {
      const role: H3Role = round % 2 === 0 ? 'server' : 'client';
      const sink = new FakeSink(role);
      const conn = new H3Connection(sink, { role });
      conn.initialize();
      if (role === 'client') conn.sendHeaders(conn.getNextRequestStreamId(), GET, true);
      const streamId = [0, 1, 2, 3, 6, 7][random(6)] ?? 0;
      const prefix = streamId === 2 || streamId === 3 ? PEER_CONTROL : new Uint8Array(0);
      // Mutate a valid input, or use pure noise.
      const input = round % 3 === 0 ? new Uint8Array(random(64)) : concat([prefix, valid]);
      for (let i = 0; i < input.length; i++) if (round % 3 === 0 || random(8) === 0) input[i] = random(256);
      const byteByByte = round % 4 < 2;
      expect(() => {
        if (!byteByByte) conn.handleStreamData(streamId, input, random(2) === 0);
        else
          for (let i = 0; i < input.length; i++)
            conn.handleStreamData(streamId, input.subarray(i, i + 1), false);
        conn.handleStreamData(streamId, new Uint8Array(0), true);
        conn.handleStreamReset(streamId, random(0x200));
      }).not.toThrow();
    }
  });
});
