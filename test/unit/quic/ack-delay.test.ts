/** The delayed-ACK policy (ack-delay.ts): ACK every second datagram, or when the ACK timer fires. */
import { describe, expect, it } from 'vitest';
import { ACK_DELAY_MS, ACK_EVERY_DATAGRAMS, AckDelay } from '../../../harness/proto/quic/ack-delay.js';

describe('AckDelay', () => {
  it('holds the ACK for a lone datagram and releases it at the second', () => {
    expect(ACK_EVERY_DATAGRAMS).toBe(2);
    expect(ACK_DELAY_MS).toBeLessThan(25); // below quiche's default max_ack_delay
    const a = new AckDelay();
    a.onDatagram();
    expect(a.mayHold()).toBe(true);
    a.onDatagram();
    expect(a.mayHold()).toBe(false);
    a.onSent();
    a.onDatagram();
    expect(a.mayHold()).toBe(true);
  });

  it('owes the held ACK when its timer fires, unless packets went out meanwhile', () => {
    const a = new AckDelay();
    expect(a.owed()).toBe(false);
    a.onDatagram();
    expect(a.owed()).toBe(true);
    a.onSent();
    expect(a.owed()).toBe(false);
  });
});
