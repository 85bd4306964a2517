/** Emulator drop times and telemetry samples (CLOCK_MONOTONIC ms) placed on the run's timeline. */
import { describe, expect, it } from 'vitest';
import { lossTimes, onRunTimeline } from '../../harness/runner/run.js';
import type { ClientReport } from '../../harness/model/records.js';

const client = { t0MonotonicNs: '5000123456' } as unknown as ClientReport;

describe('the run timeline', () => {
  it('moves drop times to ms since t0 and leaves out the drops before it (the probe)', () => {
    expect(lossTimes([4990, 5000.124, 5010.5], client)).toEqual([0.001, 10.377]);
    expect(lossTimes(null, client)).toBeUndefined();
    expect(lossTimes([1], { ...client, t0MonotonicNs: undefined })).toBeUndefined();
  });

  it('moves telemetry samples the same way, keeping samples before t0 (the handshake can start first)', () => {
    const s = { side: 'server', transport: 'tcp', connection: 'a b', source: 'x', intervalMs: 10 } as const;
    expect(onRunTimeline([{ ...s, t: [4995.123, 5020.123], cwndBytes: [1, 2] }], client)).toEqual([
      { ...s, t: [-5, 20], cwndBytes: [1, 2] },
    ]);
    expect(onRunTimeline([], null)).toBeUndefined();
  });
});
