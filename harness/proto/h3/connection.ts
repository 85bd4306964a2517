/**
 * HTTP/3 connection core (RFC 9114) for either role, doing no I/O (aioquic `h3/connection.py`):
 * the QUIC driver feeds it stream bytes with `handleStreamData` / `handleStreamReset` and gets back
 * H3Event[]; everything the core wants done on the wire goes through the QuicStreamSink it was given.
 *
 * Input from the peer never makes these methods throw: a connection error calls
 * `sink.closeConnection(code, reason)` and yields a ConnectionError event; a stream error resets that
 * stream (RESET_STREAM + STOP_SENDING) and yields a StreamReset event. The send methods throw H3Error
 * (local) when the application misuses them.
 *
 * DATA payloads are never copied: received ones are views of the caller's buffer, sent ones go to the
 * sink as the caller's buffer after a separately sent frame header.
 */
import { H3Error, H3ErrorCode, connectionError, streamError } from './errors.js';
import type { H3Event } from './events.js';
import {
  FrameParser,
  FrameType,
  SettingId,
  StreamType,
  decodePushPromisePayload,
  decodeSettingsPayload,
  decodeVarintPayload,
  encodeDataFrameHeader,
  encodeGoawayFrame,
  encodeHeadersFrame,
  encodeSettingsFrame,
  frameTypeName,
  type FrameEvent,
} from './frame.js';
import {
  QpackDecoderStreamReader,
  QpackEncoderStreamReader,
  decodeFieldSection,
  encodeFieldSection,
  fieldLineSize,
  type Header,
} from './qpack/qpack.js';
import { validateFieldSection } from './validate.js';
import { readVarint, varintLengthOf } from './varint.js';

/** What the core asks the QUIC transport to do. Buffers passed in are never mutated afterwards. */
export interface QuicStreamSink {
  sendStreamData(streamId: number, data: Uint8Array, fin: boolean): void;
  /** Opens a local unidirectional stream and returns its ID. */
  openUniStream(): number;
  /** Opens a local bidirectional stream and returns its ID. */
  openBidiStream(): number;
  /** RESET_STREAM: abandon our sending part of the stream. */
  resetStream(streamId: number, code: number): void;
  /** STOP_SENDING: ask the peer to abandon its sending part of the stream. */
  stopSending(streamId: number, code: number): void;
  /** CONNECTION_CLOSE with an application error code. */
  closeConnection(code: number, reason: string): void;
}

export type H3Role = 'client' | 'server';

export interface H3ConnectionOptions {
  role: H3Role;
  /**
   * SETTINGS_MAX_FIELD_SECTION_SIZE we advertise, and the largest decoded header section (and
   * HEADERS frame) we accept. Default 64 KiB.
   */
  maxFieldSectionSize?: number;
  /**
   * Send one reserved (0x1f * N + 0x21) setting in SETTINGS, as RFC 9114 §7.2.4.1 recommends
   * ("Endpoints SHOULD include at least one such setting"). Default true.
   */
  greaseSettings?: boolean;
}

/** Connection lifecycle. */
export enum ConnectionState {
  /** Created; `initialize()` has not opened our control and QPACK streams yet. */
  Idle,
  /** Our control and QPACK streams are open; requests flow. */
  Open,
  /** Closed by a connection error or `close()`; all further input is ignored. */
  Closed,
}

/** Receiving part of a request stream (as aioquic's `HeadersState`). */
export enum RecvState {
  /** Waiting for the header section (again after a 1xx interim response); DATA here is unexpected. */
  AwaitingHeaders,
  /** Header section received: DATA, a trailer section or the end of the stream may follow. */
  Body,
  /** Trailer section received: only the end of the stream (or unknown frames) may follow. */
  Trailers,
  /** The peer ended the stream cleanly and the message was complete. */
  Finished,
  /** Reset by the peer, or aborted by us after a stream error; further input is dropped. */
  Aborted,
}

/** Sending part of a request stream. */
export enum SendState {
  /** Nothing sent yet (1xx interim responses keep this state). */
  Idle,
  /** Header section sent: DATA, a trailer section or the end of the stream may follow. */
  Body,
  /** Trailer section sent: only the end of the stream may follow. */
  Trailers,
  /** FIN sent. */
  Finished,
  /** RESET_STREAM sent. */
  Reset,
}

/** A peer-initiated unidirectional stream. */
export enum UniStreamState {
  /** The stream type varint is not complete yet. */
  AwaitingType,
  /** The peer's control stream: HTTP/3 frames, SETTINGS first. */
  Control,
  /** The peer's QPACK encoder stream. */
  QpackEncoder,
  /** The peer's QPACK decoder stream. */
  QpackDecoder,
  /** Unknown or reserved stream type: the rest of the stream is discarded. */
  Discarded,
}

class RequestStream {
  recv = RecvState.AwaitingHeaders;
  send = SendState.Idle;
  /** FIN (or RESET_STREAM) already received from the peer: no STOP_SENDING needed. */
  peerDone = false;
  readonly parser: FrameParser;
  /** content-length of the message being received, -1 when absent or not applicable. */
  contentLength = -1;
  /** DATA payload bytes received for the current message. */
  received = 0;
  /** Method of the request we sent (client role): a HEAD response has no content. */
  requestMethod = '';

  constructor(maxFrameSize: number) {
    this.parser = new FrameParser({ maxBufferedFrameSize: maxFrameSize });
  }
}

class UniStream {
  state = UniStreamState.AwaitingType;
  readonly typeBytes = new Uint8Array(8);
  typeLen = 0;
  parser: FrameParser | undefined;
}

/**
 * Remembers which peer-initiated stream IDs (one of the four ID classes, step 4) were already seen,
 * so input for a stream we have released is not mistaken for a new stream. QUIC opens streams in
 * order but their first bytes can arrive out of order, hence the set of skipped IDs.
 */
class PeerStreamIds {
  private next: number;
  private readonly skipped = new Set<number>();

  constructor(first: number) {
    this.next = first;
  }

  /** True the first time `id` is seen. */
  firstSight(id: number): boolean {
    if (id >= this.next) {
      // The transport's stream limits bound how far ahead a peer can open streams.
      if ((id - this.next) / 4 > 1 << 16) {
        throw connectionError(
          H3ErrorCode.H3_ID_ERROR,
          `Cannot accept stream ${id}: far beyond stream ${this.next}`,
        );
      }
      for (let skipped = this.next; skipped < id; skipped += 4) this.skipped.add(skipped);
      this.next = id + 4;
      return true;
    }
    return this.skipped.delete(id);
  }
}

const EMPTY = new Uint8Array(0);
const DEFAULT_MAX_FIELD_SECTION_SIZE = 64 * 1024;
/** Largest SETTINGS (or other control frame) buffered. */
const MAX_CONTROL_FRAME_SIZE = 16 * 1024;
/** A reserved setting identifier (0x1f * 7 + 0x21) sent as grease. */
const GREASE_SETTING_ID = 0x1f * 7 + 0x21;

function isUni(streamId: number): boolean {
  return (streamId & 0x2) !== 0;
}

function isClientInitiated(streamId: number): boolean {
  return (streamId & 0x1) === 0;
}

export class H3Connection {
  readonly role: H3Role;
  private stateValue = ConnectionState.Idle;
  private readonly sink: QuicStreamSink;
  private readonly maxFieldSectionSize: number;
  private readonly greaseSettings: boolean;

  private readonly requests = new Map<number, RequestStream>();
  private readonly uniStreams = new Map<number, UniStream>();
  /** Server: client-initiated bidirectional IDs seen. */
  private readonly peerBidiIds = new PeerStreamIds(0);
  private readonly peerUniIds: PeerStreamIds;

  private controlStreamId = -1;
  private encoderStreamId = -1;
  private decoderStreamId = -1;
  private peerControlStreamId = -1;
  private peerEncoderStreamId = -1;
  private peerDecoderStreamId = -1;
  private readonly encoderStreamReader = new QpackEncoderStreamReader(0);
  private readonly decoderStreamReader = new QpackDecoderStreamReader();

  private peerSettingsValue: ReadonlyMap<number, number> | undefined;
  private goawaySentId = -1;
  private goawayReceivedId = -1;
  /** Server: largest MAX_PUSH_ID from the client (we never push). */
  private peerMaxPushId = -1;
  /** Reused list of frames parsed from one input chunk. */
  private readonly frames: FrameEvent[] = [];

  constructor(sink: QuicStreamSink, options: H3ConnectionOptions) {
    this.sink = sink;
    this.role = options.role;
    this.maxFieldSectionSize = options.maxFieldSectionSize ?? DEFAULT_MAX_FIELD_SECTION_SIZE;
    this.greaseSettings = options.greaseSettings ?? true;
    this.peerUniIds = new PeerStreamIds(this.role === 'client' ? 3 : 2);
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The peer's SETTINGS, once received. */
  get peerSettings(): ReadonlyMap<number, number> | undefined {
    return this.peerSettingsValue;
  }

  /** ID from the peer's last GOAWAY, or undefined. */
  get receivedGoawayId(): number | undefined {
    return this.goawayReceivedId < 0 ? undefined : this.goawayReceivedId;
  }

  /** Request streams still tracked (for leak checks). */
  get activeStreamCount(): number {
    return this.requests.size;
  }

  /** Opens our control stream (SETTINGS first) and QPACK encoder and decoder streams. */
  initialize(): void {
    if (this.stateValue !== ConnectionState.Idle) {
      throw new H3Error(H3ErrorCode.H3_INTERNAL_ERROR, 'Cannot initialize twice');
    }
    this.stateValue = ConnectionState.Open;
    const settings = new Map<number, number>([
      [SettingId.QPACK_MAX_TABLE_CAPACITY, 0],
      [SettingId.QPACK_BLOCKED_STREAMS, 0],
      [SettingId.MAX_FIELD_SECTION_SIZE, this.maxFieldSectionSize],
    ]);
    if (this.greaseSettings) settings.set(GREASE_SETTING_ID, 0);
    const settingsFrame = encodeSettingsFrame(settings);
    //= https://www.rfc-editor.org/rfc/rfc9114#section-6.2.1
    //# Each side MUST initiate a single control stream at the beginning of
    //# the connection and send its SETTINGS frame as the first frame on this
    //# stream.
    this.controlStreamId = this.sink.openUniStream();
    const control = new Uint8Array(1 + settingsFrame.length);
    control[0] = StreamType.CONTROL;
    control.set(settingsFrame, 1);
    this.sink.sendStreamData(this.controlStreamId, control, false);
    this.encoderStreamId = this.sink.openUniStream();
    this.sink.sendStreamData(this.encoderStreamId, Uint8Array.of(StreamType.QPACK_ENCODER), false);
    this.decoderStreamId = this.sink.openUniStream();
    this.sink.sendStreamData(this.decoderStreamId, Uint8Array.of(StreamType.QPACK_DECODER), false);
  }

  // -------------------------------------------------------------------------------------------------
  // Sending
  // -------------------------------------------------------------------------------------------------

  /** Client: opens the next request stream through the sink. */
  getNextRequestStreamId(): number {
    this.checkOpen();
    if (this.role !== 'client') {
      throw new H3Error(H3ErrorCode.H3_INTERNAL_ERROR, 'Cannot open a request stream as a server');
    }
    //= https://www.rfc-editor.org/rfc/rfc9114#section-5.2
    //# Endpoints MUST NOT initiate new requests or promise new pushes on the
    //# connection after receipt of a GOAWAY frame from the peer.
    if (this.goawayReceivedId >= 0) {
      throw new H3Error(
        H3ErrorCode.H3_REQUEST_REJECTED,
        `Cannot open a request stream after GOAWAY ${this.goawayReceivedId}`,
      );
    }
    const streamId = this.sink.openBidiStream();
    this.requests.set(streamId, new RequestStream(this.maxFieldSectionSize));
    return streamId;
  }

  /**
   * Sends a header section (request, response, 1xx interim response, or trailers after the body).
   * Throws H3Error when the headers are malformed or the stream is in the wrong state.
   */
  sendHeaders(streamId: number, headers: readonly Header[], fin = false): void {
    this.checkOpen();
    const s = this.requests.get(streamId);
    if (s === undefined) {
      throw new H3Error(H3ErrorCode.H3_INTERNAL_ERROR, `Cannot send headers on unknown stream ${streamId}`);
    }
    let interim = false;
    if (s.send === SendState.Idle) {
      const info = validateFieldSection(headers, this.role === 'client' ? 'request' : 'response', streamId);
      interim = info.status >= 100 && info.status < 200;
      if (interim && fin)
        throw streamError(H3ErrorCode.H3_INTERNAL_ERROR, streamId, 'Cannot end a stream after 1xx');
      s.requestMethod = info.method;
    } else if (s.send === SendState.Body) {
      validateFieldSection(headers, 'trailers', streamId);
    } else {
      throw streamError(
        H3ErrorCode.H3_INTERNAL_ERROR,
        streamId,
        `Cannot send headers on stream ${streamId} in state ${SendState[s.send]}`,
      );
    }
    const peerLimit = this.peerSettingsValue?.get(SettingId.MAX_FIELD_SECTION_SIZE);
    if (peerLimit !== undefined) {
      let size = 0;
      for (const [name, value] of headers) size += fieldLineSize(name, value);
      //= https://www.rfc-editor.org/rfc/rfc9114#section-4.2.2
      //# An implementation that
      //# has received this parameter SHOULD NOT send an HTTP message header
      //# that exceeds the indicated size, as the peer will likely refuse to
      //# process it.
      if (size > peerLimit) {
        throw streamError(
          H3ErrorCode.H3_EXCESSIVE_LOAD,
          streamId,
          `Cannot send a ${size}-byte field section: peer's SETTINGS_MAX_FIELD_SECTION_SIZE is ${peerLimit}`,
        );
      }
    }
    this.sink.sendStreamData(streamId, encodeHeadersFrame(encodeFieldSection(headers)), fin);
    if (fin) {
      s.send = SendState.Finished;
      this.maybeRelease(streamId, s);
    } else if (!interim) {
      s.send = s.send === SendState.Idle ? SendState.Body : SendState.Trailers;
    }
  }

  /**
   * Sends body bytes as one DATA frame: the frame header and then `data` itself (no copy) go to
   * the sink in two calls. Empty `data` with `fin` just ends the stream.
   */
  sendData(streamId: number, data: Uint8Array, fin = false): void {
    this.checkOpen();
    const s = this.requests.get(streamId);
    if (s?.send !== SendState.Body) {
      //= https://www.rfc-editor.org/rfc/rfc9114#section-4.1
      //# Receipt of an invalid sequence of frames MUST be treated as a
      //# connection error of type H3_FRAME_UNEXPECTED.
      throw streamError(
        H3ErrorCode.H3_FRAME_UNEXPECTED,
        streamId,
        `Cannot send DATA on stream ${streamId} in state ${s === undefined ? 'unknown' : SendState[s.send]}`,
      );
    }
    if (data.length > 0) {
      this.sink.sendStreamData(streamId, encodeDataFrameHeader(data.length), false);
      this.sink.sendStreamData(streamId, data, fin);
    } else if (fin) {
      this.sink.sendStreamData(streamId, EMPTY, true);
    }
    if (fin) {
      s.send = SendState.Finished;
      this.maybeRelease(streamId, s);
    }
  }

  /** Type + Length header for a DATA frame of `length` bytes (for drivers framing bodies themselves). */
  dataFrameHeader(length: number): Uint8Array {
    return encodeDataFrameHeader(length);
  }

  /**
   * Sends GOAWAY on our control stream: a server passes the first client request stream ID it will
   * not process; a client passes a push ID. Later request streams at or above a server's ID are
   * rejected with H3_REQUEST_REJECTED.
   */
  sendGoaway(id: number): void {
    this.checkOpen();
    if (this.controlStreamId < 0)
      throw new H3Error(H3ErrorCode.H3_INTERNAL_ERROR, 'Cannot send GOAWAY before initialize()');
    if (this.role === 'server' && id % 4 !== 0) {
      throw new H3Error(
        H3ErrorCode.H3_ID_ERROR,
        `Cannot send GOAWAY ${id}: not a client-initiated bidirectional stream ID`,
      );
    }
    //= https://www.rfc-editor.org/rfc/rfc9114#section-5.2
    //# An endpoint MAY send multiple GOAWAY frames indicating different
    //# identifiers, but the identifier in each frame MUST NOT be greater
    //# than the identifier in any previous frame, since clients might
    //# already have retried unprocessed requests on another HTTP connection.
    if (this.goawaySentId >= 0 && id > this.goawaySentId) {
      throw new H3Error(
        H3ErrorCode.H3_ID_ERROR,
        `Cannot send GOAWAY ${id}: greater than the previous ${this.goawaySentId}`,
      );
    }
    this.goawaySentId = id;
    this.sink.sendStreamData(this.controlStreamId, encodeGoawayFrame(id), false);
  }

  /** Abandons a request stream in both directions (RESET_STREAM + STOP_SENDING). */
  cancelStream(streamId: number, code: number = H3ErrorCode.H3_REQUEST_CANCELLED): void {
    const s = this.requests.get(streamId);
    if (s === undefined || this.stateValue === ConnectionState.Closed) return;
    this.abortStream(streamId, s, code);
  }

  /** Closes the connection (CONNECTION_CLOSE with `code`). */
  close(code: number = H3ErrorCode.H3_NO_ERROR, reason = ''): void {
    if (this.stateValue === ConnectionState.Closed) return;
    this.stateValue = ConnectionState.Closed;
    this.sink.closeConnection(code, reason);
  }

  private checkOpen(): void {
    if (this.stateValue === ConnectionState.Closed) {
      throw new H3Error(H3ErrorCode.H3_INTERNAL_ERROR, 'Cannot send on a closed connection');
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Receiving
  // -------------------------------------------------------------------------------------------------

  /**
   * Processes bytes (and/or the FIN) received on a stream. Returned DataReceived views alias `data`.
   * Never throws.
   */
  handleStreamData(streamId: number, data: Uint8Array, fin: boolean): H3Event[] {
    const events: H3Event[] = [];
    if (this.stateValue === ConnectionState.Closed) return events;
    try {
      if (isUni(streamId)) this.receiveUni(streamId, data, fin, events);
      else this.receiveBidi(streamId, data, fin, events);
    } catch (err) {
      this.fail(err, streamId, events);
    }
    return events;
  }

  /** The peer reset its sending part of `streamId` (RESET_STREAM with `code`). Never throws. */
  handleStreamReset(streamId: number, code: number): H3Event[] {
    const events: H3Event[] = [];
    if (this.stateValue === ConnectionState.Closed) return events;
    try {
      if (isUni(streamId)) {
        const u = this.uniStreams.get(streamId);
        if (u === undefined) {
          if (!this.isLocal(streamId)) this.peerUniIds.firstSight(streamId);
          return events;
        }
        this.closeUni(streamId, u, 'reset');
        return events;
      }
      const s = this.requests.get(streamId);
      if (s === undefined) {
        if (this.role === 'server' && isClientInitiated(streamId)) this.peerBidiIds.firstSight(streamId);
        return events;
      }
      s.peerDone = true;
      if (s.recv === RecvState.Finished || s.recv === RecvState.Aborted) return events;
      s.recv = RecvState.Aborted;
      const error = new H3Error(code, `Peer reset stream ${streamId}`, {
        local: false,
        scope: 'stream',
        streamId,
      });
      events.push({ type: 'StreamReset', streamId, code, error });
      this.maybeRelease(streamId, s);
    } catch (err) {
      this.fail(err, streamId, events);
    }
    return events;
  }

  private isLocal(streamId: number): boolean {
    return isClientInitiated(streamId) === (this.role === 'client');
  }

  /** Turns anything thrown while processing peer input into a stream or connection error. */
  private fail(err: unknown, streamId: number, events: H3Event[]): void {
    const error =
      err instanceof H3Error
        ? err
        : new H3Error(H3ErrorCode.H3_INTERNAL_ERROR, `Internal error: ${String(err)}`, { cause: err });
    if (error.scope === 'stream') {
      const s = this.requests.get(streamId);
      if (s !== undefined) {
        this.abortStream(streamId, s, error.code);
        events.push({ type: 'StreamReset', streamId, code: error.code, error });
        return;
      }
    }
    if (this.stateValue === ConnectionState.Closed) return;
    this.stateValue = ConnectionState.Closed;
    this.sink.closeConnection(error.code, error.reason);
    events.push({ type: 'ConnectionError', code: error.code, error });
  }

  private abortStream(streamId: number, s: RequestStream, code: number): void {
    if (s.recv !== RecvState.Finished && s.recv !== RecvState.Aborted) {
      s.recv = RecvState.Aborted;
      if (!s.peerDone) this.sink.stopSending(streamId, code);
    }
    if (s.send !== SendState.Finished && s.send !== SendState.Reset) {
      s.send = SendState.Reset;
      this.sink.resetStream(streamId, code);
    }
    this.maybeRelease(streamId, s);
  }

  private maybeRelease(streamId: number, s: RequestStream): void {
    const recvDone = s.recv === RecvState.Finished || s.recv === RecvState.Aborted;
    const sendDone = s.send === SendState.Finished || s.send === SendState.Reset;
    if (recvDone && sendDone) this.requests.delete(streamId);
  }

  // --- request streams -------------------------------------------------------------------------------

  private receiveBidi(streamId: number, data: Uint8Array, fin: boolean, events: H3Event[]): void {
    if (!isClientInitiated(streamId)) {
      //= https://www.rfc-editor.org/rfc/rfc9114#section-6.1
      //# Clients MUST treat
      //# receipt of a server-initiated bidirectional stream as a connection
      //# error of type H3_STREAM_CREATION_ERROR unless such an extension has
      //# been negotiated.
      if (this.role === 'client') {
        throw connectionError(
          H3ErrorCode.H3_STREAM_CREATION_ERROR,
          `Cannot accept server-initiated bidirectional stream ${streamId}`,
        );
      }
      return; // a server never sees its own bidirectional streams from the peer
    }
    let s = this.requests.get(streamId);
    if (s === undefined) {
      // Client: a stream we released (or never opened). Server: new, or released.
      if (this.role === 'client' || !this.peerBidiIds.firstSight(streamId)) return;
      s = new RequestStream(this.maxFieldSectionSize);
      this.requests.set(streamId, s);
      if (this.goawaySentId >= 0 && streamId >= this.goawaySentId) {
        //= https://www.rfc-editor.org/rfc/rfc9114#section-5.2
        //# Requests or pushes with the indicated identifier or greater are
        //# rejected (Section 4.1.1) by the sender of the GOAWAY.
        this.abortStream(streamId, s, H3ErrorCode.H3_REQUEST_REJECTED);
        return;
      }
    }
    if (s.recv === RecvState.Finished || s.recv === RecvState.Aborted) return;

    const frames = this.frames;
    frames.length = 0;
    let parseError: H3Error | undefined;
    try {
      s.parser.push(data, frames);
    } catch (err) {
      if (!(err instanceof H3Error)) throw err;
      parseError = err;
    }
    for (const frame of frames) {
      if (frame.kind === 'data') this.onRequestData(s, streamId, frame.data, events);
      else if (frame.kind === 'frame') this.onRequestFrame(s, streamId, frame.type, frame.payload, events);
      // Unknown frame types are allowed on request streams and ignored (RFC 9114 §4.1, §9).
    }
    frames.length = 0;
    if (parseError !== undefined) throw parseError;
    if (fin) this.onRequestFin(s, streamId, events);
  }

  private onRequestData(s: RequestStream, streamId: number, chunk: Uint8Array, events: H3Event[]): void {
    if (s.recv !== RecvState.Body) {
      //= https://www.rfc-editor.org/rfc/rfc9114#section-4.1
      //# Receipt of an invalid sequence of frames MUST be treated as a
      //# connection error of type H3_FRAME_UNEXPECTED.  In particular, a DATA
      //# frame before any HEADERS frame, or a HEADERS or DATA frame after the
      //# trailing HEADERS frame, is considered invalid.
      throw connectionError(
        H3ErrorCode.H3_FRAME_UNEXPECTED,
        `Cannot accept DATA on stream ${streamId} ${s.recv === RecvState.Trailers ? 'after trailers' : 'before HEADERS'}`,
      );
    }
    s.received += chunk.length;
    if (s.contentLength >= 0 && s.received > s.contentLength) throw this.contentLengthMismatch(s, streamId);
    if (chunk.length > 0) events.push({ type: 'DataReceived', streamId, data: chunk, fin: false });
  }

  private contentLengthMismatch(s: RequestStream, streamId: number): H3Error {
    //= https://www.rfc-editor.org/rfc/rfc9114#section-4.1.2
    //# A request or response that is defined as having content when it
    //# contains a Content-Length header field (Section 8.6 of [HTTP]) is
    //# malformed if the value of the Content-Length header field does not
    //# equal the sum of the DATA frame lengths received.
    return streamError(
      H3ErrorCode.H3_MESSAGE_ERROR,
      streamId,
      `Malformed message: content-length ${s.contentLength} but ${s.received} bytes of DATA`,
    );
  }

  private onRequestFrame(
    s: RequestStream,
    streamId: number,
    type: number,
    payload: Uint8Array,
    events: H3Event[],
  ): void {
    switch (type) {
      case FrameType.HEADERS:
        this.onHeaders(s, streamId, payload, events);
        return;
      case FrameType.PUSH_PROMISE: {
        //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.5
        //# A client MUST NOT send a PUSH_PROMISE frame.  A server MUST treat the
        //# receipt of a PUSH_PROMISE frame as a connection error of type
        //# H3_FRAME_UNEXPECTED.
        if (this.role === 'server') {
          throw connectionError(H3ErrorCode.H3_FRAME_UNEXPECTED, `Cannot accept PUSH_PROMISE from a client`);
        }
        const { pushId } = decodePushPromisePayload(payload);
        //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.5
        //# A client MUST treat
        //# receipt of a PUSH_PROMISE frame that contains a larger push ID than
        //# the client has advertised as a connection error of H3_ID_ERROR.
        throw connectionError(
          H3ErrorCode.H3_ID_ERROR,
          `Cannot accept PUSH_PROMISE ${pushId}: no MAX_PUSH_ID was sent`,
        );
      }
      default:
        //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.4
        //# If an endpoint receives a SETTINGS frame on a different
        //# stream, the endpoint MUST respond with a connection error of type
        //# H3_FRAME_UNEXPECTED.
        //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.3
        //# Receiving a
        //# CANCEL_PUSH frame on a stream other than the control stream MUST be
        //# treated as a connection error of type H3_FRAME_UNEXPECTED.
        //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.6
        //# A client MUST treat a GOAWAY frame on a stream other than
        //# the control stream as a connection error of type H3_FRAME_UNEXPECTED.
        //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.7
        //# Receipt
        //# of a MAX_PUSH_ID frame on any other stream MUST be treated as a
        //# connection error of type H3_FRAME_UNEXPECTED.
        throw connectionError(
          H3ErrorCode.H3_FRAME_UNEXPECTED,
          `Cannot accept ${frameTypeName(type)} frame on request stream ${streamId}`,
        );
    }
  }

  private onHeaders(s: RequestStream, streamId: number, payload: Uint8Array, events: H3Event[]): void {
    if (s.recv === RecvState.Trailers) {
      //= https://www.rfc-editor.org/rfc/rfc9114#section-4.1
      //# In particular, a DATA
      //# frame before any HEADERS frame, or a HEADERS or DATA frame after the
      //# trailing HEADERS frame, is considered invalid.
      throw connectionError(
        H3ErrorCode.H3_FRAME_UNEXPECTED,
        `Cannot accept HEADERS on stream ${streamId} after trailers`,
      );
    }
    const headers = decodeFieldSection(payload, { maxFieldSectionSize: this.maxFieldSectionSize });
    if (s.recv === RecvState.Body) {
      validateFieldSection(headers, 'trailers', streamId);
      s.recv = RecvState.Trailers;
      events.push({ type: 'HeadersReceived', streamId, headers, fin: false, trailers: true, interim: false });
      return;
    }
    const info = validateFieldSection(headers, this.role === 'server' ? 'request' : 'response', streamId);
    const interim = info.status >= 100 && info.status < 200;
    if (!interim) {
      s.recv = RecvState.Body;
      s.received = 0;
      //= https://www.rfc-editor.org/rfc/rfc9114#section-4.1.2
      //# A response that is
      //# defined as never having content, even when a Content-Length is
      //# present, can have a non-zero Content-Length header field even though
      //# no content is included in DATA frames.
      const noContent = s.requestMethod === 'HEAD' || info.status === 204 || info.status === 304;
      s.contentLength = noContent ? -1 : info.contentLength;
    }
    events.push({ type: 'HeadersReceived', streamId, headers, fin: false, trailers: false, interim });
  }

  private onRequestFin(s: RequestStream, streamId: number, events: H3Event[]): void {
    s.peerDone = true;
    //= https://www.rfc-editor.org/rfc/rfc9114#section-7.1
    //# When a stream terminates cleanly, if the last frame on the stream was
    //# truncated, this MUST be treated as a connection error of type
    //# H3_FRAME_ERROR.
    if (!s.parser.atFrameBoundary) {
      throw connectionError(H3ErrorCode.H3_FRAME_ERROR, `Stream ${streamId} ended inside a frame`);
    }
    if (s.recv === RecvState.AwaitingHeaders) {
      if (this.role === 'server') {
        //= https://www.rfc-editor.org/rfc/rfc9114#section-4.1
        //# If a client-initiated
        //# stream terminates without enough of the HTTP message to provide a
        //# complete response, the server SHOULD abort its response stream with
        //# the error code H3_REQUEST_INCOMPLETE.
        throw streamError(
          H3ErrorCode.H3_REQUEST_INCOMPLETE,
          streamId,
          `Request stream ${streamId} ended before HEADERS`,
        );
      }
      throw streamError(
        H3ErrorCode.H3_MESSAGE_ERROR,
        streamId,
        `Malformed message: response stream ${streamId} ended without a final response`,
      );
    }
    if (s.contentLength >= 0 && s.received !== s.contentLength) throw this.contentLengthMismatch(s, streamId);
    s.recv = RecvState.Finished;
    const last = events[events.length - 1];
    if (
      last !== undefined &&
      (last.type === 'DataReceived' || last.type === 'HeadersReceived') &&
      last.streamId === streamId
    ) {
      last.fin = true;
    } else {
      events.push({ type: 'DataReceived', streamId, data: EMPTY, fin: true });
    }
    this.maybeRelease(streamId, s);
  }

  // --- unidirectional streams -----------------------------------------------------------------------

  private receiveUni(streamId: number, data: Uint8Array, fin: boolean, events: H3Event[]): void {
    if (this.isLocal(streamId)) return; // our own send-only streams carry nothing towards us
    let u = this.uniStreams.get(streamId);
    if (u === undefined) {
      if (!this.peerUniIds.firstSight(streamId)) return; // released earlier
      u = new UniStream();
      this.uniStreams.set(streamId, u);
    }
    let off = 0;
    while (u.state === UniStreamState.AwaitingType && off < data.length) {
      u.typeBytes[u.typeLen++] = data[off++] ?? 0;
      const len = varintLengthOf(u.typeBytes[0] ?? 0);
      if (u.typeLen === len) this.openUni(streamId, u, readVarint(u.typeBytes, 0, len));
    }
    const rest = off === 0 ? data : data.subarray(off);
    if (rest.length > 0) {
      switch (u.state) {
        case UniStreamState.Control:
          this.onControlData(u, streamId, rest, events);
          break;
        case UniStreamState.QpackEncoder:
          this.encoderStreamReader.push(rest);
          break;
        case UniStreamState.QpackDecoder:
          this.decoderStreamReader.push(rest);
          break;
        case UniStreamState.AwaitingType:
        case UniStreamState.Discarded:
          break;
      }
    }
    if (fin) this.closeUni(streamId, u, 'closed');
  }

  private openUni(streamId: number, u: UniStream, type: number): void {
    switch (type) {
      case StreamType.CONTROL:
        //= https://www.rfc-editor.org/rfc/rfc9114#section-6.2.1
        //# Only one control stream per peer is permitted;
        //# receipt of a second stream claiming to be a control stream MUST be
        //# treated as a connection error of type H3_STREAM_CREATION_ERROR.
        if (this.peerControlStreamId >= 0) {
          throw connectionError(
            H3ErrorCode.H3_STREAM_CREATION_ERROR,
            `Cannot accept control stream ${streamId}: stream ${this.peerControlStreamId} is the control stream`,
          );
        }
        this.peerControlStreamId = streamId;
        u.state = UniStreamState.Control;
        u.parser = new FrameParser({ maxBufferedFrameSize: MAX_CONTROL_FRAME_SIZE });
        return;
      case StreamType.PUSH:
        //= https://www.rfc-editor.org/rfc/rfc9114#section-6.2.2
        //# Only servers can push; if a server receives a client-initiated push
        //# stream, this MUST be treated as a connection error of type
        //# H3_STREAM_CREATION_ERROR.
        if (this.role === 'server') {
          throw connectionError(
            H3ErrorCode.H3_STREAM_CREATION_ERROR,
            `Cannot accept push stream ${streamId} from a client`,
          );
        }
        //= https://www.rfc-editor.org/rfc/rfc9114#section-4.6
        //# A client MUST treat receipt of a push stream as a connection
        //# error of type H3_ID_ERROR when no MAX_PUSH_ID frame has been sent or
        //# when the stream references a push ID that is greater than the maximum
        //# push ID.
        throw connectionError(
          H3ErrorCode.H3_ID_ERROR,
          `Cannot accept push stream ${streamId}: no MAX_PUSH_ID was sent`,
        );
      case StreamType.QPACK_ENCODER:
      case StreamType.QPACK_DECODER: {
        const encoder = type === StreamType.QPACK_ENCODER;
        const existing = encoder ? this.peerEncoderStreamId : this.peerDecoderStreamId;
        //= https://www.rfc-editor.org/rfc/rfc9204#section-4.2
        //# Each endpoint
        //# MUST initiate, at most, one encoder stream and, at most, one decoder
        //# stream.  Receipt of a second instance of either stream type MUST be
        //# treated as a connection error of type H3_STREAM_CREATION_ERROR.
        if (existing >= 0) {
          throw connectionError(
            H3ErrorCode.H3_STREAM_CREATION_ERROR,
            `Cannot accept QPACK ${encoder ? 'encoder' : 'decoder'} stream ${streamId}: stream ${existing} is one`,
          );
        }
        if (encoder) {
          this.peerEncoderStreamId = streamId;
          u.state = UniStreamState.QpackEncoder;
        } else {
          this.peerDecoderStreamId = streamId;
          u.state = UniStreamState.QpackDecoder;
        }
        return;
      }
      default:
        //= https://www.rfc-editor.org/rfc/rfc9114#section-6.2
        //# Recipients of unknown stream types MUST
        //# either abort reading of the stream or discard incoming data without
        //# further processing.  If reading is aborted, the recipient SHOULD use
        //# the H3_STREAM_CREATION_ERROR error code or a reserved error code
        //# (Section 8.1).  The recipient MUST NOT consider unknown stream types
        //# to be a connection error of any kind.
        u.state = UniStreamState.Discarded;
        this.sink.stopSending(streamId, H3ErrorCode.H3_STREAM_CREATION_ERROR);
    }
  }

  /** FIN or RESET_STREAM on a peer unidirectional stream. */
  private closeUni(streamId: number, u: UniStream, how: 'closed' | 'reset'): void {
    if (
      u.state === UniStreamState.Control ||
      u.state === UniStreamState.QpackEncoder ||
      u.state === UniStreamState.QpackDecoder
    ) {
      //= https://www.rfc-editor.org/rfc/rfc9114#section-6.2.1
      //# If either control
      //# stream is closed at any point, this MUST be treated as a connection
      //# error of type H3_CLOSED_CRITICAL_STREAM.
      //= https://www.rfc-editor.org/rfc/rfc9204#section-4.2
      //# Closure of either unidirectional stream type MUST be treated as a
      //# connection error of type H3_CLOSED_CRITICAL_STREAM.
      throw connectionError(
        H3ErrorCode.H3_CLOSED_CRITICAL_STREAM,
        `Peer ${how} its ${UniStreamState[u.state]} stream ${streamId}`,
      );
    }
    //= https://www.rfc-editor.org/rfc/rfc9114#section-6.2
    //# A receiver MUST tolerate unidirectional streams being
    //# closed or reset prior to the reception of the unidirectional stream
    //# header.
    this.uniStreams.delete(streamId);
  }

  private onControlData(u: UniStream, streamId: number, data: Uint8Array, events: H3Event[]): void {
    const parser = u.parser;
    if (parser === undefined) return;
    const frames = this.frames;
    frames.length = 0;
    let parseError: H3Error | undefined;
    try {
      parser.push(data, frames);
    } catch (err) {
      if (!(err instanceof H3Error)) throw err;
      parseError = err;
    }
    try {
      for (const frame of frames) this.onControlFrame(streamId, frame, events);
    } finally {
      frames.length = 0;
    }
    if (parseError !== undefined) throw parseError;
  }

  private onControlFrame(streamId: number, frame: FrameEvent, events: H3Event[]): void {
    if (
      this.peerSettingsValue === undefined &&
      !(frame.kind === 'frame' && frame.type === FrameType.SETTINGS)
    ) {
      //= https://www.rfc-editor.org/rfc/rfc9114#section-6.2.1
      //# If the first frame of the control stream is any other frame
      //# type, this MUST be treated as a connection error of type
      //# H3_MISSING_SETTINGS.
      const what = frame.kind === 'frame' || frame.kind === 'unknown' ? frameTypeName(frame.type) : 'DATA';
      throw connectionError(
        H3ErrorCode.H3_MISSING_SETTINGS,
        `First frame on control stream ${streamId} is ${what}, not SETTINGS`,
      );
    }
    if (frame.kind === 'unknown') return;
    if (frame.kind === 'data') {
      //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.1
      //# If
      //# a DATA frame is received on a control stream, the recipient MUST
      //# respond with a connection error of type H3_FRAME_UNEXPECTED.
      throw connectionError(
        H3ErrorCode.H3_FRAME_UNEXPECTED,
        `Cannot accept DATA on control stream ${streamId}`,
      );
    }
    const { type, payload } = frame;
    switch (type) {
      case FrameType.SETTINGS: {
        //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.4
        //# If an endpoint receives a second SETTINGS
        //# frame on the control stream, the endpoint MUST respond with a
        //# connection error of type H3_FRAME_UNEXPECTED.
        if (this.peerSettingsValue !== undefined) {
          throw connectionError(
            H3ErrorCode.H3_FRAME_UNEXPECTED,
            `Cannot accept a second SETTINGS on stream ${streamId}`,
          );
        }
        //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.4
        //# An implementation MUST ignore any parameter with an identifier it
        //# does not understand.
        const settings = decodeSettingsPayload(payload);
        this.peerSettingsValue = settings;
        events.push({ type: 'SettingsReceived', settings });
        return;
      }
      case FrameType.GOAWAY: {
        const id = decodeVarintPayload(type, payload);
        //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.6
        //# A client MUST treat receipt of a GOAWAY frame containing a stream ID
        //# of any other type as a connection error of type H3_ID_ERROR.
        if (this.role === 'client' && id % 4 !== 0) {
          throw connectionError(
            H3ErrorCode.H3_ID_ERROR,
            `GOAWAY ${id} is not a client-initiated bidirectional stream ID`,
          );
        }
        //= https://www.rfc-editor.org/rfc/rfc9114#section-5.2
        //# Receiving a GOAWAY containing a larger identifier than previously
        //# received MUST be treated as a connection error of type H3_ID_ERROR.
        if (this.goawayReceivedId >= 0 && id > this.goawayReceivedId) {
          throw connectionError(
            H3ErrorCode.H3_ID_ERROR,
            `GOAWAY ${id} is larger than the previous ${this.goawayReceivedId}`,
          );
        }
        this.goawayReceivedId = id;
        events.push({ type: 'GoawayReceived', id });
        return;
      }
      case FrameType.CANCEL_PUSH: {
        const pushId = decodeVarintPayload(type, payload);
        //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.3
        //# If a CANCEL_PUSH frame is received that
        //# references a push ID greater than currently allowed on the
        //# connection, this MUST be treated as a connection error of type
        //# H3_ID_ERROR.
        //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.3
        //# If a server receives a CANCEL_PUSH frame for a push
        //# ID that has not yet been mentioned by a PUSH_PROMISE frame, this MUST
        //# be treated as a connection error of type H3_ID_ERROR.
        throw connectionError(
          H3ErrorCode.H3_ID_ERROR,
          `CANCEL_PUSH ${pushId}: no push was ever allowed or promised`,
        );
      }
      case FrameType.MAX_PUSH_ID: {
        //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.7
        //# A server MUST NOT send a MAX_PUSH_ID frame.  A client MUST treat the
        //# receipt of a MAX_PUSH_ID frame as a connection error of type
        //# H3_FRAME_UNEXPECTED.
        if (this.role === 'client') {
          throw connectionError(H3ErrorCode.H3_FRAME_UNEXPECTED, 'Cannot accept MAX_PUSH_ID from a server');
        }
        const pushId = decodeVarintPayload(type, payload);
        //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.7
        //# A MAX_PUSH_ID frame cannot reduce the maximum push
        //# ID; receipt of a MAX_PUSH_ID frame that contains a smaller value than
        //# previously received MUST be treated as a connection error of type
        //# H3_ID_ERROR.
        if (pushId < this.peerMaxPushId) {
          throw connectionError(
            H3ErrorCode.H3_ID_ERROR,
            `MAX_PUSH_ID ${pushId} is below the previous ${this.peerMaxPushId}`,
          );
        }
        this.peerMaxPushId = pushId;
        return;
      }
      default:
        //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.2
        //# If a HEADERS frame is received on a control stream, the recipient
        //# MUST respond with a connection error of type H3_FRAME_UNEXPECTED.
        //= https://www.rfc-editor.org/rfc/rfc9114#section-7.2.5
        //# If a PUSH_PROMISE frame is received on the control stream, the client
        //# MUST respond with a connection error of type H3_FRAME_UNEXPECTED.
        throw connectionError(
          H3ErrorCode.H3_FRAME_UNEXPECTED,
          `Cannot accept ${frameTypeName(type)} frame on control stream ${streamId}`,
        );
    }
  }
}
