/**
 * Events H3Connection.handleStreamData / handleStreamReset return, in the order things happened on
 * the wire (aioquic `h3/events.py`). Discriminated by `type`.
 */
import type { H3Error } from './errors.js';
import type { Header } from './qpack/qpack.js';

/** A header section (or trailer section) arrived on a request stream. */
export interface HeadersReceived {
  readonly type: 'HeadersReceived';
  readonly streamId: number;
  readonly headers: Header[];
  /** The peer ended the stream right after this section (no body / nothing after the trailers). */
  fin: boolean;
  /** True for a trailer section (a HEADERS frame after the body). */
  readonly trailers: boolean;
  /** True for a 1xx interim response; the final response follows on the same stream. */
  readonly interim: boolean;
}

/** Body bytes of a request or response. */
export interface DataReceived {
  readonly type: 'DataReceived';
  readonly streamId: number;
  /**
   * A view of the bytes passed to handleStreamData: valid only during the processing of the
   * returned events (copy it to keep it). Empty when only the end of the stream is signalled.
   */
  readonly data: Uint8Array;
  /** The peer ended the stream after these bytes. */
  fin: boolean;
}

/** The peer's SETTINGS frame (all identifiers, including unknown and reserved ones). */
export interface SettingsReceived {
  readonly type: 'SettingsReceived';
  readonly settings: ReadonlyMap<number, number>;
}

/** The peer sent GOAWAY: from a server, the first request stream ID it will not process. */
export interface GoawayReceived {
  readonly type: 'GoawayReceived';
  readonly id: number;
}

/**
 * A request stream ended abnormally: reset by the peer (`error.local` false) or aborted by us after a
 * stream error such as a malformed message (`error.local` true; we sent RESET_STREAM/STOP_SENDING).
 */
export interface StreamReset {
  readonly type: 'StreamReset';
  readonly streamId: number;
  readonly code: number;
  readonly error: H3Error;
}

/** We closed the connection because of a connection error (sink.closeConnection was called). */
export interface ConnectionError {
  readonly type: 'ConnectionError';
  readonly code: number;
  readonly error: H3Error;
}

export type H3Event =
  HeadersReceived | DataReceived | SettingsReceived | GoawayReceived | StreamReset | ConnectionError;
