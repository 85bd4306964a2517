/**
 * The response scheduler (harness/proto/schedule.ts) against a fake transport that accepts chunks
 * when told: the order of HEADERS and body chunks under each policy, the bound on chunks ahead, and
 * cancellation. The loopback h2/h3 tests (test/integration/scheduling.test.ts) check the wire.
 */
import { describe, expect, it } from 'vitest';
import { BODY_CHUNK_BYTES } from '../../harness/proto/handler.js';
import {
  MAX_CHUNKS_AHEAD,
  ROUND_ROBIN_CHUNK_BYTES,
  ResponseScheduler,
  chunkBytesOf,
} from '../../harness/proto/schedule.js';
import type { SchedulingPolicy } from '../../harness/scenario/schema.js';

const C = BODY_CHUNK_BYTES;
/** Round robin interleaves in HTTP/2-frame-sized chunks, for every protocol. */
const R = ROUND_ROBIN_CHUNK_BYTES;

/** A transport that logs what it is given and accepts chunks only when `accept()` is called. */
function fake(policy: SchedulingPolicy) {
  const log: string[] = [];
  const unit = chunkBytesOf(policy);
  const unaccepted: (() => void)[] = [];
  const finished: number[] = [];
  const s = new ResponseScheduler<number>(policy, {
    headers: (id, fin) => log.push(`H${id}${fin ? '!' : ''}`),
    chunk: (id, offset, length, fin, accepted) => {
      log.push(`D${id}@${offset / unit}${fin ? '!' : ''}`);
      expect(length).toBeLessThanOrEqual(unit);
      unaccepted.push(accepted);
    },
    finished: (id) => finished.push(id),
  });
  /** Accept every chunk given so far, repeatedly, until nothing more comes. */
  const drain = () => {
    while (unaccepted.length > 0) unaccepted.shift()?.();
  };
  return { s, log, unaccepted, finished, drain };
}

describe('ResponseScheduler', () => {
  it('sequential: HEADERS and body of each response in turn, in stream id order', () => {
    const f = fake('sequential');
    f.s.add(0, 0, 2 * C);
    f.s.add(4, 4, C);
    f.s.add(8, 8, 0);
    f.drain();
    expect(f.log).toEqual(['H0', 'D0@0', 'D0@1!', 'H4', 'D4@0!', 'H8!']);
    expect(f.finished).toEqual([0, 4, 8]);
    expect(f.s.active).toBe(0);
  });

  it('sequential: the next HEADERS wait until the previous body is all accepted', () => {
    const f = fake('sequential');
    f.s.add(0, 0, C);
    f.s.add(4, 4, C);
    expect(f.log).toEqual(['H0', 'D0@0!']);
    f.unaccepted.shift()?.();
    expect(f.log).toEqual(['H0', 'D0@0!', 'H4', 'D4@0!']);
  });

  it('headers-first: every HEADERS at once, then the bodies one after another', () => {
    const f = fake('headers-first');
    f.s.add(0, 0, 2 * C);
    f.s.add(4, 4, 2 * C);
    f.s.add(8, 8, 0);
    f.drain();
    expect(f.log).toEqual(['H0', 'D0@0', 'D0@1!', 'H4', 'H8!', 'D4@0', 'D4@1!']);
  });

  it('round-robin: HEADERS at once, bodies interleaved chunk by chunk', () => {
    const f = fake('round-robin');
    f.s.add(0, 0, 3 * R);
    f.s.add(4, 4, 2 * R);
    f.s.add(8, 8, 2 * R);
    f.drain();
    const bodies = f.log.filter((x) => x.startsWith('D'));
    expect(bodies).toEqual(['D0@0', 'D0@1', 'D4@0', 'D8@0', 'D0@2!', 'D4@1!', 'D8@1!']);
    expect(f.log.indexOf('H8')).toBeLessThan(f.log.indexOf('D8@0'));
  });

  it('round-robin interleaves 16 KiB chunks (an HTTP/2 DATA frame), the others 64 KiB', () => {
    expect(R).toBe(16_384);
    expect(chunkBytesOf('round-robin')).toBe(R);
    expect(chunkBytesOf('sequential')).toBe(C);
    expect(chunkBytesOf('headers-first')).toBe(C);
    const f = fake('round-robin');
    f.s.add(0, 0, C);
    f.s.add(4, 4, C);
    f.drain();
    // One 64 KiB body is four turns: the two bodies alternate every 16 KiB.
    expect(f.log.filter((x) => x.startsWith('D'))).toEqual([
      'D0@0',
      'D0@1',
      'D4@0',
      'D0@2',
      'D4@1',
      'D0@3!',
      'D4@2',
      'D4@3!',
    ]);
  });

  it.each(['sequential', 'headers-first', 'round-robin'] as const)(
    '%s: never more than MAX_CHUNKS_AHEAD chunks waiting to be accepted',
    (policy) => {
      const f = fake(policy);
      for (let id = 0; id < 40; id += 4) f.s.add(id, id, 5 * C);
      while (f.unaccepted.length > 0) {
        expect(f.unaccepted.length).toBeLessThanOrEqual(MAX_CHUNKS_AHEAD);
        f.unaccepted.shift()?.();
      }
      expect(f.log.filter((x) => x.startsWith('D'))).toHaveLength((10 * 5 * C) / chunkBytesOf(policy));
      expect(f.s.active).toBe(0);
    },
  );

  it('a request that arrives late queues by stream id, but never ahead of a body that began', () => {
    const f = fake('sequential');
    f.s.add(4, 4, C);
    f.s.add(12, 12, C);
    f.s.add(8, 8, C);
    f.s.add(0, 0, C);
    f.drain();
    expect(f.log).toEqual(['H4', 'D4@0!', 'H0', 'D0@0!', 'H8', 'D8@0!', 'H12', 'D12@0!']);
  });

  it('a cancelled response frees its chunks ahead and the next one goes on', () => {
    const f = fake('sequential');
    f.s.add(0, 0, 10 * C);
    f.s.add(4, 4, C);
    expect(f.unaccepted).toHaveLength(MAX_CHUNKS_AHEAD);
    f.s.cancel(0);
    expect(f.log.at(-2)).toBe('H4');
    f.unaccepted.shift()?.(); // a late callback of the cancelled stream changes nothing
    f.drain();
    expect(f.log.filter((x) => x.startsWith('D0'))).toHaveLength(MAX_CHUNKS_AHEAD);
    expect(f.s.active).toBe(0);
  });

  it('a transport that throws (stream gone) drops that response only', () => {
    const log: string[] = [];
    const s = new ResponseScheduler<number>('sequential', {
      headers: (id) => {
        if (id === 0) throw new Error('gone');
        log.push(`H${id}`);
      },
      chunk: (id, _o, _l, _f, accepted) => {
        log.push(`D${id}`);
        accepted();
      },
    });
    s.add(0, 0, C);
    s.add(4, 4, C);
    expect(log).toEqual(['H4', 'D4']);
    expect(s.active).toBe(0);
  });
});
