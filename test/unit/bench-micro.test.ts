/**
 * bench/micro.ts: its arguments, and that its seeded inputs exercise what the task names say (a
 * codec round trip, a lossy run with stalls, telemetry with congestion events, a complete
 * attribution). No timing is asserted here: the figures are what `npm run bench:micro` prints.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIME_MS,
  REQUEST_HEADERS,
  RESPONSE_HEADERS,
  attributionRuns,
  cut,
  fmt,
  microTasks,
  parseArgs,
  responseStream,
  selectTasks,
  syntheticClient,
  syntheticResult,
  telemetryRun,
  varintValues,
} from '../../bench/micro.js';
import { FrameParser, type FrameEvent } from '../../harness/proto/h3/frame.js';
import { decodeFieldSection, encodeFieldSection } from '../../harness/proto/h3/qpack/qpack.js';
import { decodeVarint, encodeVarint } from '../../harness/proto/h3/varint.js';
import { runTimeline } from '../../harness/measure/events.js';
import { analyzeHol, holOptionsForRtt } from '../../harness/measure/hol.js';
import { runTransport } from '../../harness/measure/telemetry.js';
import { attribution } from '../../harness/measure/attribution.js';
import { summarize } from '../../harness/measure/result-summary.js';

describe('bench/micro arguments', () => {
  it('defaults, --time and --filter', () => {
    expect(parseArgs([])).toEqual({ timeMs: DEFAULT_TIME_MS, filter: null });
    expect(parseArgs(['--time', '50', '--filter', 'qpack'])).toEqual({ timeMs: 50, filter: 'qpack' });
  });

  it('refuses bad values and unknown arguments', () => {
    expect(() => parseArgs(['--time'])).toThrow(/--time/);
    expect(() => parseArgs(['--time', '0'])).toThrow(/--time/);
    expect(() => parseArgs(['--time', 'x'])).toThrow(/--time/);
    expect(() => parseArgs(['--filter'])).toThrow(/--filter/);
    expect(() => parseArgs(['--seconds', '3'])).toThrow(/unknown argument/);
  });

  it('selects tasks by case-insensitive substring', () => {
    const tasks = microTasks();
    expect(selectTasks(tasks, null)).toHaveLength(tasks.length);
    const q = selectTasks(tasks, 'QPACK');
    expect(q.length).toBe(4);
    expect(q.every((t) => t.name.includes('qpack'))).toBe(true);
    expect(selectTasks(tasks, 'no such task')).toEqual([]);
  });

  it('formats figures with about 3 significant digits', () => {
    expect(fmt(1234567.8)).toBe('1,234,568');
    expect(fmt(12.345)).toBe('12.3');
    expect(fmt(1.2345)).toBe('1.23');
    expect(fmt(0.12345)).toBe('0.123');
    expect(fmt(NaN)).toBe('-');
  });
});

describe('bench/micro inputs', () => {
  it('are the same on every call (seeded)', () => {
    expect(varintValues()).toEqual(varintValues());
    expect(syntheticClient('h3', 7, 50, 5)).toEqual(syntheticClient('h3', 7, 50, 5));
  });

  it('varints cover the four encoded sizes and round-trip', () => {
    const sizes = new Set<number>();
    for (const v of varintValues()) {
      const b = encodeVarint(v);
      sizes.add(b.length);
      expect(decodeVarint(b)).toEqual({ value: v, length: b.length });
    }
    expect([...sizes].sort()).toEqual([1, 2, 4, 8]);
  });

  it('the header blocks round-trip through QPACK', () => {
    expect(decodeFieldSection(encodeFieldSection(REQUEST_HEADERS))).toEqual(REQUEST_HEADERS);
    expect(decodeFieldSection(encodeFieldSection(RESPONSE_HEADERS))).toEqual(RESPONSE_HEADERS);
  });

  it('the response stream parses into HEADERS and 64 × 16 KiB of DATA', () => {
    const parser = new FrameParser();
    const events: FrameEvent[] = [];
    for (const c of cut(responseStream())) parser.push(c, events);
    const frames = events.filter((e) => e.kind === 'frame');
    expect(frames.map((f) => f.type)).toEqual([0x1]);
    const data = events.filter((e) => e.kind === 'data');
    expect(data.filter((d) => d.frameEnd)).toHaveLength(64);
    expect(data.reduce((n, d) => n + d.data.length, 0)).toBe(64 * 16 * 1024);
    expect(parser.atFrameBoundary).toBe(true);
  });

  it('the synthetic run is lossy: stalls, some of them after a logged loss', () => {
    const { client, lossTimesMs } = syntheticClient('h3', 7);
    expect(client.requests).toHaveLength(1000);
    expect(client.requests.every((r) => r.chunks.length === 20)).toBe(true);
    expect(lossTimesMs.length).toBeGreaterThan(100);
    const hol = analyzeHol(runTimeline(client, lossTimesMs), holOptionsForRtt(40));
    expect(hol.stallCount).toBeGreaterThan(100);
    expect(hol.stallsAfterLoss).toBeGreaterThan(0);
  });

  it('the telemetry series has congestion events and the attribution a complete pair', () => {
    const t = runTransport(telemetryRun(), 40);
    expect(t.congestionEvents).toBeGreaterThan(20);
    expect(t.reductionFactor).toBeGreaterThan(0.6);
    expect(t.reductionFactor).toBeLessThan(0.8);
    const a = attribution(attributionRuns(), ['h2', 'h3']);
    expect(a).toHaveLength(1);
    expect(a?.[0]?.pair).toBe('h3/h2');
    expect(a?.[0]?.pairs).toBe(10);
  });

  it('the result has 15 runs of three protocols, with contrasts', () => {
    const { runs, protocols, scenario } = syntheticResult(50, 5);
    expect(runs).toHaveLength(15);
    const s = summarize(protocols, runs, scenario);
    expect(Object.keys(s.protocols).sort()).toEqual(['h1', 'h2', 'h3']);
    expect(s.runs).toHaveLength(15);
    expect(s.comparisons.length).toBeGreaterThan(0);
  });

  it('every task builds its inputs and runs once (summarize on smaller runs here)', () => {
    for (const t of microTasks().filter((x) => !x.name.startsWith('summarize'))) {
      const fn = t.make();
      expect(Number.isFinite(fn()), t.name).toBe(true);
    }
  });
});
