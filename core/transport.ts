/**
 * Transport settings pinned alike for TCP and QUIC (congestion control, windows, HyStart, pacing):
 * the scenario's `transport` key, read by the endpoints and by the link layer, which applies them
 * to the namespaces.
 */
import { z } from 'zod';
import { sizeBytes } from './fields.js';

export const CONGESTION_CONTROLS = ['cubic', 'reno', 'bbr'] as const;
export type CongestionControl = (typeof CONGESTION_CONTROLS)[number];

/** Defaults of the `transport` keys, in canonical units. */
export const TRANSPORT_DEFAULTS = {
  congestion: 'cubic',
  /** HTTP/2 and HTTP/3 per-stream receive window, bytes. */
  streamWindowBytes: 8_000_000,
  /** HTTP/2 and HTTP/3 connection receive window, bytes. */
  connectionWindowBytes: 16_000_000,
  hystart: true,
  pacing: false,
} as const;

const D = TRANSPORT_DEFAULTS;

export const transportSchema = z
  .object({
    congestion: z.enum(CONGESTION_CONTROLS).default(D.congestion),
    streamWindow: sizeBytes()
      .pipe(
        z
          .number()
          .min(65_535)
          .max(2 ** 31 - 1),
      )
      .optional(),
    connectionWindow: sizeBytes()
      .pipe(
        z
          .number()
          .min(65_535)
          .max(2 ** 31 - 1),
      )
      .optional(),
    hystart: z.boolean().default(D.hystart),
    pacing: z.boolean().default(D.pacing),
  })
  .strict()
  .transform((t) => ({
    /** Congestion control for TCP (per namespace) and QUIC alike. */
    congestion: t.congestion,
    streamWindowBytes: t.streamWindow ?? D.streamWindowBytes,
    connectionWindowBytes: t.connectionWindow ?? D.connectionWindowBytes,
    /** HyStart++ in slow start (QUIC; Linux CUBIC always uses HyStart). */
    hystart: t.hystart,
    /** Pace sends: QUIC in the driver, TCP with the fq qdisc on the endpoints (emulated links only). */
    pacing: t.pacing,
  }));
export type Transport = z.output<typeof transportSchema>;

/** Transport settings with every default, for commands that run without a scenario (serve, fetch). */
export function defaultTransport(): Transport {
  return transportSchema.parse({});
}
