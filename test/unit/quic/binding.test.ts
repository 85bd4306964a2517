/**
 * The quiche binding wrapper: errors become QuicBindingError with stable codes, quiche's `Done`
 * becomes null/0, and two connections handshake and exchange stream data in memory (no sockets).
 */
import { describe, expect, it } from 'vitest';
import {
  BINDING_INFO,
  MAX_CONN_ID_LEN,
  PacketType,
  QuicBindingError,
  QuicConfig,
  QuicConnection,
  Shutdown,
  negotiateVersion,
  parseHeader,
  toQuicError,
  versionIsSupported,
  type QuicConfigOptions,
} from '../../../harness/proto/quic/binding.js';
import { SERVER_NAME, generateTlsMaterial } from '../../../harness/proto/tls.js';

const tls = generateTlsMaterial();
const base: Omit<QuicConfigOptions, 'role'> = {
  alpn: ['h3'],
  idleTimeoutMs: 5000,
  maxUdpPayloadBytes: 1472,
  connectionWindowBytes: 1_000_000,
  streamWindowBytes: 500_000,
  maxStreamsBidi: 10,
  maxStreamsUni: 3,
  congestion: 'cubic',
  hystart: true,
  quichePacing: false,
  maxAckDelayMs: 25,
};
const cl = { host: '127.0.0.1', port: 1111 };
const sv = { host: '127.0.0.1', port: 2222 };

/** A client and a server connection joined by an in-memory "link" (send → recv until quiet). */
function pair(clientCa: string | null = tls.caPem) {
  const client = QuicConnection.connect(
    SERVER_NAME,
    new Uint8Array(MAX_CONN_ID_LEN).fill(1),
    cl,
    sv,
    new QuicConfig({ ...base, role: 'client', caPem: clientCa }),
  );
  const server = QuicConnection.accept(
    new Uint8Array(MAX_CONN_ID_LEN).fill(2),
    null,
    sv,
    cl,
    new QuicConfig({ ...base, role: 'server', certPem: tls.certPem, keyPem: tls.keyPem }),
  );
  const buf = new Uint8Array(1500);
  const flow = (a: QuicConnection, b: QuicConnection, info: { from: typeof cl; to: typeof sv }) => {
    let n = 0;
    for (let len = a.send(buf); len > 0; len = a.send(buf)) {
      n++;
      try {
        b.recv(buf.subarray(0, len), info);
      } catch {
        /* a rejected packet (e.g. TLS failure) is what some tests look at */
      }
    }
    return n;
  };
  const settle = () => {
    for (let i = 0; i < 10; i++) {
      if (flow(client, server, { from: cl, to: sv }) + flow(server, client, { from: sv, to: cl }) === 0)
        return;
    }
  };
  return { client, server, settle };
}

describe('toQuicError', () => {
  it('maps quiche error names to stable codes and keeps the attached value', () => {
    const e = toQuicError(new Error('StreamReset(268)'), 'streamRecv');
    expect(e).toBeInstanceOf(QuicBindingError);
    expect(e.code).toBe('QUIC_STREAM_RESET');
    expect(e.value).toBe(268);
    expect(e.op).toBe('streamRecv');
    expect(e.message).toBe('Cannot streamRecv as quiche reported StreamReset(268)');
    expect(toQuicError(new Error('FinalSize'), 'x').code).toBe('QUIC_FINAL_SIZE');
    expect(toQuicError(new Error('InvalidStreamState(4)'), 'x').value).toBe(4);
  });

  it('maps anything else to QUIC_BINDING', () => {
    expect(toQuicError(new Error('Failed to convert napi value'), 'x').code).toBe('QUIC_BINDING');
    expect(toQuicError('weird', 'x').code).toBe('QUIC_BINDING');
  });
});

describe('parseHeader', () => {
  it('returns null for a datagram that is not a QUIC packet', () => {
    expect(parseHeader(new Uint8Array([1, 2, 3]), MAX_CONN_ID_LEN)).toBeNull();
    expect(parseHeader(new Uint8Array(0), MAX_CONN_ID_LEN)).toBeNull();
  });

  it('reads a client Initial', () => {
    const { client } = pair();
    const buf = new Uint8Array(1500);
    const n = client.send(buf);
    expect(n).toBeGreaterThanOrEqual(1200);
    const h = parseHeader(buf.subarray(0, n), MAX_CONN_ID_LEN);
    expect(h?.type).toBe(PacketType.Initial);
    expect(h?.version).toBe(1);
    expect(h?.scid).toEqual(new Uint8Array(MAX_CONN_ID_LEN).fill(1));
    expect(h?.token).toHaveLength(0);
  });
});

describe('negotiateVersion / versionIsSupported', () => {
  it('writes a version negotiation packet for an unknown version', () => {
    expect(versionIsSupported(1)).toBe(true);
    expect(versionIsSupported(0x1a2a3a4a)).toBe(false);
    const out = new Uint8Array(1500);
    const n = negotiateVersion(new Uint8Array(8).fill(3), new Uint8Array(8).fill(4), out);
    expect(n).toBeGreaterThan(0);
    expect(parseHeader(out.subarray(0, n), 8)?.type).toBe(PacketType.VersionNegotiation);
  });
});

describe('QuicConfig', () => {
  it('records every setting applied', () => {
    const c = new QuicConfig({ ...base, role: 'client', caPem: tls.caPem, congestion: 'bbr' });
    expect(c.applied).toMatchObject({
      congestion: 'bbr',
      initialMaxData: 1_000_000,
      initialMaxStreamDataBidiLocal: 500_000,
      maxUdpPayloadBytes: 1472,
      verifyPeer: true,
    });
    expect(BINDING_INFO.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('rejects an unknown congestion controller with QUIC_BINDING', () => {
    expect(
      () => new QuicConfig({ ...base, role: 'client', caPem: null, congestion: 'bbr2' as 'bbr' }),
    ).toThrow(QuicBindingError);
  });
});

describe('QuicConnection', () => {
  it('handshakes in memory and negotiates h3', () => {
    const { client, server, settle } = pair();
    settle();
    expect(client.isEstablished()).toBe(true);
    expect(server.isEstablished()).toBe(true);
    expect(client.applicationProto()).toBe('h3');
    expect(client.timeout()).toBeGreaterThan(0);
  });

  it('send returns 0 and streamRecv null when there is nothing (Done)', () => {
    const { client, server, settle } = pair();
    settle();
    expect(client.send(new Uint8Array(1500))).toBe(0);
    client.streamSend(0, new Uint8Array(10), false);
    settle();
    expect(server.streamRecv(0, new Uint8Array(100))).toEqual([10, false]);
    expect(server.streamRecv(0, new Uint8Array(100))).toBeNull();
  });

  it('moves stream data with fin, then streamRecv returns null, and a write after fin throws FINAL_SIZE', () => {
    const { client, server, settle } = pair();
    settle();
    expect(client.streamSend(0, new TextEncoder().encode('hello'), true)).toBe(5);
    settle();
    expect([...server.readable()]).toEqual([0]);
    const buf = new Uint8Array(100);
    const r = server.streamRecv(0, buf);
    expect(r).toEqual([5, true]);
    expect(new TextDecoder().decode(buf.subarray(0, 5))).toBe('hello');
    expect(server.streamRecv(0, buf)).toBeNull();
    let err: unknown;
    try {
      client.streamSend(0, new Uint8Array(1), false);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QuicBindingError);
    expect((err as QuicBindingError).code).toBe('QUIC_FINAL_SIZE');
  });

  it('reports a peer reset as QUIC_STREAM_RESET with the code', () => {
    const { client, server, settle } = pair();
    settle();
    client.streamSend(4, new Uint8Array(10), false);
    settle();
    server.streamRecv(4, new Uint8Array(100));
    expect(client.streamShutdown(4, Shutdown.Write, 0x10c)).toBe(true);
    settle();
    let err: unknown;
    try {
      server.streamRecv(4, new Uint8Array(100));
    } catch (e) {
      err = e;
    }
    expect((err as QuicBindingError).code).toBe('QUIC_STREAM_RESET');
    expect((err as QuicBindingError).value).toBe(0x10c);
  });

  it('streamShutdown of an unknown stream returns false', () => {
    const { client, settle } = pair();
    settle();
    expect(client.streamShutdown(40, Shutdown.Read, 0)).toBe(false);
  });

  it('closes: close() twice returns false the second time; peer sees the code and reason', () => {
    const { client, server, settle } = pair();
    settle();
    expect(client.close(true, 0x100, 'bye')).toBe(true);
    expect(client.close(true, 0x100, 'bye')).toBe(false);
    settle();
    expect(server.peerError()).toEqual({ isApp: true, code: 0x100, reason: 'bye' });
    expect(server.isDraining() || server.isClosed()).toBe(true);
  });

  it('fails the handshake when the server certificate does not chain to the CA', () => {
    const other = generateTlsMaterial();
    const { client, settle } = pair(other.caPem);
    settle();
    expect(client.isEstablished()).toBe(false);
    expect(client.localError()?.isApp).toBe(false);
  });

  it('counts packets in stats()', () => {
    const { client, settle } = pair();
    settle();
    const s = client.stats();
    expect(s.sent).toBeGreaterThan(0);
    expect(s.recv).toBeGreaterThan(0);
    expect(s.cwndBytes).toBeGreaterThan(0);
    expect(s.peerInitialMaxData).toBe(1_000_000);
  });
});
