/**
 * The driver's delayed-ACK policy (RFC 9000 §13.2.2: "A receiver SHOULD send an ACK frame after
 * receiving at least two ack-eliciting packets"; TCP does the same). quiche puts an ACK in every
 * packet it sends after any ack-eliciting packet, so the only way to delay an ACK is to hold back
 * `send()`: when a flush is due to one lone datagram and nothing of ours is waiting, the connection
 * holds it until a second datagram arrives or ACK_DELAY_MS passes (far below max_ack_delay, 25 ms).
 *
 * Counting datagrams, not ack-eliciting packets: the driver cannot see inside them, and the
 * datagrams that are not ack-eliciting (pure ACKs) cost at most one early ACK.
 *
 * The policy is the counting and the decision; the connection owns the timer.
 */

/** Send the ACK after this many datagrams... */
export const ACK_EVERY_DATAGRAMS = 2;
/** ...or this long after a lone one, ms. */
export const ACK_DELAY_MS = 1;

/** The policy as recorded in results. */
export const ACK_POLICY_DESCRIPTION = `after ${ACK_EVERY_DATAGRAMS} datagrams or ${ACK_DELAY_MS} ms (RFC 9000 §13.2.2), at once when we have data to send`;

/** Datagrams received since packets were last sent, and whether the ACK they elicit may wait. */
export class AckDelay {
  private datagrams = 0;

  /** A datagram arrived. */
  onDatagram(): void {
    this.datagrams++;
  }

  /** Packets went out (each carries the ACK quiche owes): nothing is owed any more. */
  onSent(): void {
    this.datagrams = 0;
  }

  /**
   * May a flush with nothing of ours to send hold `send()` back? Only while fewer than
   * ACK_EVERY_DATAGRAMS datagrams are unanswered. (The connection never holds before the handshake
   * completes, with stream data queued, while a pacing timer is armed or while draining.)
   */
  mayHold(): boolean {
    return this.datagrams < ACK_EVERY_DATAGRAMS;
  }

  /** The ACK timer fired: must the held ACK go now? (False if packets went out meanwhile.) */
  owed(): boolean {
    return this.datagrams > 0;
  }
}
