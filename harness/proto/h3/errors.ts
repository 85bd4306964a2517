/**
 * HTTP/3 (RFC 9114 §8.1) and QPACK (RFC 9204 §6) error codes, and the error class the protocol core
 * raises. Shaped like quic-go `http3/error.go`: a numeric wire code plus whether we detected the
 * problem (local) or the peer told us about it (remote), and whether it ends a stream or the connection.
 */

/** Error codes with the values the RFCs assign (RFC 9114 §8.1, RFC 9204 §6). */
export const H3ErrorCode = {
  /** No error; graceful close of a stream or connection. */
  H3_NO_ERROR: 0x100,
  /** Protocol violated in a way no more specific code covers. */
  H3_GENERAL_PROTOCOL_ERROR: 0x101,
  /** Internal error in the HTTP stack. */
  H3_INTERNAL_ERROR: 0x102,
  /** The peer created a stream we will not accept. */
  H3_STREAM_CREATION_ERROR: 0x103,
  /** A stream required by the connection (control, QPACK) was closed or reset. */
  H3_CLOSED_CRITICAL_STREAM: 0x104,
  /** A frame not permitted in the current state or on the current stream. */
  H3_FRAME_UNEXPECTED: 0x105,
  /** A frame violating layout requirements or with an invalid size. */
  H3_FRAME_ERROR: 0x106,
  /** The peer is generating excessive load. */
  H3_EXCESSIVE_LOAD: 0x107,
  /** A stream ID or push ID was used incorrectly. */
  H3_ID_ERROR: 0x108,
  /** Error in the payload of a SETTINGS frame. */
  H3_SETTINGS_ERROR: 0x109,
  /** No SETTINGS frame at the start of the control stream. */
  H3_MISSING_SETTINGS: 0x10a,
  /** Server rejected a request without any application processing. */
  H3_REQUEST_REJECTED: 0x10b,
  /** The request or its response was cancelled. */
  H3_REQUEST_CANCELLED: 0x10c,
  /** The client's stream ended without a fully formed request. */
  H3_REQUEST_INCOMPLETE: 0x10d,
  /** An HTTP message was malformed. */
  H3_MESSAGE_ERROR: 0x10e,
  /** The TCP connection of a CONNECT request was reset or closed abnormally. */
  H3_CONNECT_ERROR: 0x10f,
  /** Retry over HTTP/1.1. */
  H3_VERSION_FALLBACK: 0x110,
  /** The QPACK decoder failed to interpret an encoded field section. */
  QPACK_DECOMPRESSION_FAILED: 0x200,
  /** The QPACK decoder failed to interpret an instruction on the encoder stream. */
  QPACK_ENCODER_STREAM_ERROR: 0x201,
  /** The QPACK encoder failed to interpret an instruction on the decoder stream. */
  QPACK_DECODER_STREAM_ERROR: 0x202,
} as const;
export type H3ErrorCode = (typeof H3ErrorCode)[keyof typeof H3ErrorCode];

const NAMES = new Map<number, string>(Object.entries(H3ErrorCode).map(([name, code]) => [code, name]));

/** `H3_FRAME_UNEXPECTED` for 0x105; unknown codes (e.g. reserved 0x1f*N+0x21) as hex. */
export function h3ErrorName(code: number): string {
  return NAMES.get(code) ?? `0x${code.toString(16)}`;
}

/** A stream error resets one stream; a connection error closes the whole connection (RFC 9114 §8). */
export type H3ErrorScope = 'stream' | 'connection';

export interface H3ErrorOptions {
  /** Default 'connection'. */
  scope?: H3ErrorScope;
  /** True (default) when this endpoint detected the error; false when the peer sent the code. */
  local?: boolean;
  /** The stream concerned, for stream errors and errors tied to one stream. */
  streamId?: number;
  cause?: unknown;
}

export class H3Error extends Error {
  /** Wire error code (H3ErrorCode value, or any code a peer sent). */
  readonly code: number;
  /** True when this endpoint detected the error (and sends the code); false when received from the peer. */
  readonly local: boolean;
  readonly scope: H3ErrorScope;
  readonly streamId: number | undefined;
  /** The message without the code prefix; sent as the CONNECTION_CLOSE reason phrase. */
  readonly reason: string;

  constructor(code: number, reason: string, options: H3ErrorOptions = {}) {
    const local = options.local ?? true;
    super(`${h3ErrorName(code)} (${local ? 'local' : 'remote'}): ${reason}`, { cause: options.cause });
    this.name = 'H3Error';
    this.code = code;
    this.local = local;
    this.scope = options.scope ?? 'connection';
    this.streamId = options.streamId;
    this.reason = reason;
  }
}

/** A connection error this endpoint detected. */
export function connectionError(code: number, reason: string): H3Error {
  return new H3Error(code, reason, { scope: 'connection' });
}

/** A stream error this endpoint detected on `streamId`. */
export function streamError(code: number, streamId: number, reason: string): H3Error {
  return new H3Error(code, reason, { scope: 'stream', streamId });
}
