/**
 * udp-echo HOST PORT: bind HOST:PORT (IPv4), print LISTENING, send every datagram back to its
 * sender; exit 0 on SIGTERM. The echo server of the fidelity probe's Node fallback (link/probe.ts),
 * in the server namespace.
 */
import dgram from 'node:dgram';
import { runProgram } from './cli.js';
import { UDP_ECHO_USAGE, parseUdpEchoArgs, type UdpEchoArgs } from './udp.js';

function main(a: UdpEchoArgs): void {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (m, r) => {
    socket.send(m, r.port, r.address);
  });
  socket.bind(a.port, a.host, () => {
    console.log('LISTENING');
  });
  process.on('SIGTERM', () => process.exit(0));
}

runProgram('udp-echo', UDP_ECHO_USAGE, () => {
  main(parseUdpEchoArgs(process.argv.slice(2)));
});
