/**
 * A qlog writer for one QUIC connection: JSON-SEQ (RFC 7464: every record is 0x1E, one JSON text,
 * "\n"), qlog 0.3 as defined by draft-ietf-quic-qlog-main-schema-04/-05 and
 * draft-ietf-quic-qlog-quic-events-03/-04 (`qlog_format: "JSON-SEQ"`, `qlog_version: "0.3"`, events
 * named `<category>:<event>` with the categories `connectivity`, `transport` and `recovery`). That
 * is the version quiche's own qlog output uses and the one qvis (qvis.quictools.info) loads;
 * later drafts renamed the events (`quic:...`) and qvis does not read those.
 *
 * What the driver can write is limited by the binding: @matrixai/quic exposes no qlog and no
 * packet-level hooks (packets are built and encrypted inside quiche; the binding only has
 * `setKeylog`), so there are no packet_sent/packet_received/packet_lost events. The events written
 * are those the driver observes itself (see telemetry.ts).
 *
 * Memory is bounded: records are batched into one string of at most BATCH_CHARS and written to a
 * file stream; when the stream has more than MAX_PENDING_BYTES queued (the disk is slower than the
 * events), further events are dropped and counted, and the count is written as the last record.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream';

/** Record separator of RFC 7464. */
export const RECORD_SEPARATOR = '\x1e';
/** The qlog version written (draft-ietf-quic-qlog-main-schema-04/-05). */
export const QLOG_VERSION = '0.3';
/** Characters of records gathered before one stream write. */
const BATCH_CHARS = 64 * 1024;
/** Bytes the file stream may hold unwritten before events are dropped. */
export const MAX_PENDING_BYTES = 8 * 1024 * 1024;

/** One qlog event's data: any JSON object. */
export type QlogData = Record<string, unknown>;

export interface QlogHeaderOptions {
  vantagePoint: 'client' | 'server';
  title: string;
  description: string;
  /** Wall clock at the connection's start, ms since the Unix epoch (qlog `reference_time`). */
  referenceTimeMs: number;
  /** Anything else to put into `common_fields` (ODCID, ...). */
  commonFields?: QlogData;
}

/** Frame one JSON value as an RFC 7464 record. */
export function jsonSeqRecord(value: unknown): string {
  return `${RECORD_SEPARATOR}${JSON.stringify(value)}\n`;
}

/** The first record of a qlog 0.3 JSON-SEQ file (QlogFileSeq with one TraceSeq). */
export function qlogHeader(o: QlogHeaderOptions): QlogData {
  return {
    qlog_version: QLOG_VERSION,
    qlog_format: 'JSON-SEQ',
    title: o.title,
    description: o.description,
    trace: {
      vantage_point: { type: o.vantagePoint, name: 'h3bench' },
      title: o.title,
      description: o.description,
      common_fields: {
        ...o.commonFields,
        protocol_type: ['QUIC', 'HTTP3'],
        time_format: 'relative',
        reference_time: o.referenceTimeMs,
      },
    },
  };
}

/** Where the records go: a file stream, or anything with the same write/end (tests). */
export interface QlogSink {
  write(chunk: string): boolean;
  end(cb: () => void): void;
  readonly writableLength: number;
}

/** Writes one qlog file; `event` is cheap (string concatenation), `close` flushes. */
export class QlogWriter {
  readonly path: string;
  /** Events not written because the sink was too far behind. */
  dropped = 0;
  private readonly sink: QlogSink;
  private batch = '';
  private closed: Promise<void> | null = null;

  constructor(path: string, header: QlogHeaderOptions, sink?: QlogSink) {
    this.path = path;
    this.sink = sink ?? fileSink(path);
    this.batch = jsonSeqRecord(qlogHeader(header));
  }

  /** Append one event at `timeMs` (relative to the header's reference time). */
  event(timeMs: number, name: string, data: QlogData): void {
    if (this.closed !== null) return;
    if (this.sink.writableLength > MAX_PENDING_BYTES) {
      this.dropped++;
      return;
    }
    this.batch += jsonSeqRecord({ time: Math.round(timeMs * 1000) / 1000, name, data });
    if (this.batch.length >= BATCH_CHARS) this.flush();
  }

  private flush(): void {
    if (this.batch === '') return;
    this.sink.write(this.batch);
    this.batch = '';
  }

  /** Write what is left (and a note of dropped events) and close the file; idempotent. */
  close(timeMs: number): Promise<void> {
    if (this.closed !== null) return this.closed;
    if (this.dropped > 0) {
      this.batch += jsonSeqRecord({
        time: Math.round(timeMs * 1000) / 1000,
        name: 'generic:info',
        data: { message: `${this.dropped} events dropped: the qlog file could not be written fast enough` },
      });
    }
    this.flush();
    this.closed = new Promise<void>((resolve) => {
      this.sink.end(resolve);
    });
    return this.closed;
  }
}

function fileSink(path: string): QlogSink {
  const s: WriteStream = createWriteStream(path, { flags: 'w' });
  // A write error (disk full, directory gone) must not take the run down: the qlog is a by-product.
  s.on('error', () => undefined);
  return {
    write: (chunk) => s.write(chunk),
    end: (cb) => {
      // Called back once the file is written and closed, or when writing failed.
      finished(s, () => {
        cb();
      });
      s.end();
    },
    get writableLength() {
      return s.writableLength;
    },
  };
}
