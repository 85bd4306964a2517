/**
 * udp-ping HOST PORT COUNT INTERVAL_MS SIZE WAIT_MS: send COUNT datagrams of SIZE bytes to a udp-echo,
 * one every INTERVAL_MS, each carrying its sequence number (u32 big-endian) first; time each echo
 * (the first one per sequence number); WAIT_MS after the last send, print one JSON line
 * (UdpPingResult in ./udp.ts) and exit. The pinger of the fidelity probe's Node fallback
 * (link/probe.ts), in the client namespace.
 */
import dgram from 'node:dgram';
import { runProgram } from './cli.js';
import {
  PING_SEQ_BYTES,
  UDP_PING_USAGE,
  formatUdpPingResult,
  parseUdpPingArgs,
  type UdpPingArgs,
} from './udp.js';

function main(a: UdpPingArgs): void {
  const socket = dgram.createSocket('udp4');
  const sentAt = new Map<number, number>();
  const rttMs: number[] = [];
  let sent = 0;
  socket.on('message', (m) => {
    const t = performance.now();
    if (m.length < PING_SEQ_BYTES) return;
    const seq = m.readUInt32BE(0);
    const t0 = sentAt.get(seq);
    if (t0 === undefined) return;
    sentAt.delete(seq);
    rttMs.push(t - t0);
  });
  socket.bind(0, () => {
    const buf = Buffer.alloc(a.sizeBytes);
    const tick = (): void => {
      if (sent === a.count) {
        setTimeout(() => {
          console.log(formatUdpPingResult({ sent, rttMs }));
          process.exit(0);
        }, a.waitMs);
        return;
      }
      buf.writeUInt32BE(sent, 0);
      sentAt.set(sent, performance.now());
      socket.send(buf, a.port, a.host);
      sent++;
      setTimeout(tick, a.intervalMs);
    };
    tick();
  });
}

runProgram('udp-ping', UDP_PING_USAGE, () => {
  main(parseUdpPingArgs(process.argv.slice(2)));
});
