/**
 * tcp-sink HOST PORT WARMUP_MS: connect to a tcp-source, read to the end, and print one JSON line
 * (TcpSinkResult in ./tcp.ts): bytes, and ms since start of the connection, the first and last byte,
 * and the first data event at least WARMUP_MS after the first byte. Started by tcpGoodput
 * (link/linkem/probes.ts) in the client namespace.
 */
import net from 'node:net';
import { runProgram } from './cli.js';
import { TCP_SINK_USAGE, formatTcpSinkResult, parseTcpSinkArgs, type TcpSinkArgs } from './tcp.js';

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

function main(a: TcpSinkArgs): void {
  const t0 = now();
  let connected: number | null = null;
  let first: number | null = null;
  let last: number | null = null;
  let bytes = 0;
  let warmBytes: number | null = null;
  let warmAt: number | null = null;
  const socket = net.connect(a.port, a.host, () => {
    connected = now();
  });
  socket.on('data', (d: Buffer) => {
    const t = now();
    first ??= t;
    bytes += d.length;
    if (warmBytes === null && t - first >= a.warmupMs) {
      warmBytes = bytes;
      warmAt = t;
    }
    last = t;
  });
  socket.on('end', () => {
    if (connected === null) {
      console.error('the connection ended before it was established');
      process.exit(1);
    }
    const since = (t: number | null): number | null => (t === null ? null : t - t0);
    console.log(
      formatTcpSinkResult({
        bytes,
        connectMs: connected - t0,
        firstMs: since(first),
        lastMs: since(last),
        warmBytes,
        warmAtMs: since(warmAt),
      }),
    );
  });
  socket.on('error', (e) => {
    console.error(String(e));
    process.exit(1);
  });
}

runProgram('tcp-sink', TCP_SINK_USAGE, () => {
  main(parseTcpSinkArgs(process.argv.slice(2)));
});
