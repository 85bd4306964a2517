/**
 * tcp-source HOST PORT BYTES: listen on HOST:PORT, print LISTENING, send BYTES to the first
 * connection in 64 KiB writes (honouring backpressure), end it, and exit once it has closed.
 * Started by tcpGoodput (link/linkem/probes.ts) in the server namespace.
 */
import net from 'node:net';
import { runProgram } from './cli.js';
import { TCP_SOURCE_USAGE, parseTcpSourceArgs, type TcpSourceArgs } from './tcp.js';

const CHUNK_BYTES = 65_536;

function main(a: TcpSourceArgs): void {
  const chunk = Buffer.alloc(CHUNK_BYTES, 120);
  const server = net.createServer((socket) => {
    let left = a.bytes;
    socket.on('error', () => undefined);
    socket.on('close', () => server.close());
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  });
  server.listen(a.port, a.host, () => {
    console.log('LISTENING');
  });
}

runProgram('tcp-source', TCP_SOURCE_USAGE, () => {
  main(parseTcpSourceArgs(process.argv.slice(2)));
});
