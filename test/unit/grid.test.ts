/**
 * Grid sweeps (`sweep: {grid: {KEY1: [...], KEY2: [...]}}`): the form, row-major cell order, the
 * SweepSpec a result records, and every error with its key path.
 */
import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../core/errors.js';
import { MAX_GRID_CELLS, parseScenarioPoints } from '../../harness/scenario/load.js';
import { gridCell } from '../../harness/scenario/schema.js';
import { measurementKey } from '../../harness/compare/compare.js';
import { parseResult, resultJson } from '../../harness/report/read.js';
import { result, runsWithWorkload } from '../fixtures/synthetic.js';

const base = `name: grid
network: { backend: linkem, rtt: 40ms, rate: 10mbit }
workload: { type: page-load }
`;
const points = (sweep: string) => parseScenarioPoints(`${base}${sweep}`, '/tmp/grid.yaml');
const fail = (sweep: string): string => {
  try {
    points(sweep);
  } catch (err) {
    if (err instanceof ScenarioError) return err.message;
    throw err;
  }
  throw new Error('expected a ScenarioError');
};

const RATE_RTT = `sweep:
  grid:
    network.rate: [1mbit, 5mbit, 50mbit]
    network.rtt: [20ms, 300ms]
`;

describe('grid sweep', () => {
  it('records both keys with units, values and labels, and describes its cells at point level', () => {
    const r = points(RATE_RTT);
    expect(r.scenario.sweep).toEqual({
      key: 'network.rate × network.rtt',
      unit: '',
      values: [0, 1, 2, 3, 4, 5],
      labels: [
        '1mbit × 20ms',
        '1mbit × 300ms',
        '5mbit × 20ms',
        '5mbit × 300ms',
        '50mbit × 20ms',
        '50mbit × 300ms',
      ],
      grid: {
        rows: {
          key: 'network.rate',
          unit: 'kbit/s',
          values: [1000, 5000, 50_000],
          labels: ['1mbit', '5mbit', '50mbit'],
        },
        columns: { key: 'network.rtt', unit: 'ms', values: [20, 300], labels: ['20ms', '300ms'] },
      },
    });
  });

  it('expands the cells row-major (the second key varies fastest), each validated as written', () => {
    const r = points(RATE_RTT);
    expect(r.points).toHaveLength(6);
    const cells = r.points.map((p) => [
      p.network.profile.down.rateKbit,
      p.network.profile.down.delayMs + p.network.profile.up.delayMs,
    ]);
    expect(cells).toEqual([
      [1000, 20],
      [1000, 300],
      [5000, 20],
      [5000, 300],
      [50_000, 20],
      [50_000, 300],
    ]);
    // Both directions get the swept rate; the queue follows each cell's own BDP (1 BDP, >= 10 MTU).
    expect(r.points.map((p) => p.network.profile.up.rateKbit)).toEqual([
      1000, 1000, 5000, 5000, 50_000, 50_000,
    ]);
    expect(r.points[5]?.network.profile.down.queueBytes).toBe(Math.ceil((50_000 * 300) / 8));
    // Everything else is the base scenario, and every point carries the sweep.
    expect(new Set(r.points.map((p) => p.workload.type))).toEqual(new Set(['page-load']));
    expect(r.points.every((p) => p.sweep === r.scenario.sweep)).toBe(true);
    const grid = r.scenario.sweep?.grid;
    if (!grid) throw new Error('no grid');
    expect([0, 1, 2, 3, 4, 5].map((i) => gridCell(grid, i))).toEqual([
      { row: 0, column: 0 },
      { row: 0, column: 1 },
      { row: 1, column: 0 },
      { row: 1, column: 1 },
      { row: 2, column: 0 },
      { row: 2, column: 1 },
    ]);
  });

  it('takes the rows from the key written first', () => {
    const r = points(
      'sweep:\n  grid:\n    network.rtt: [20ms, 300ms]\n    network.rate: [1mbit, 5mbit, 50mbit]\n',
    );
    expect(r.scenario.sweep?.grid?.rows.key).toBe('network.rtt');
    expect(r.scenario.sweep?.labels.slice(0, 4)).toEqual([
      '20ms × 1mbit',
      '20ms × 5mbit',
      '20ms × 50mbit',
      '300ms × 1mbit',
    ]);
  });

  it('sweeps any two scalar keys, flow style included, with plain numbers', () => {
    const r = parseScenarioPoints(
      `name: g
network: { backend: linkem, rtt: 40ms }
workload: { type: multiplex, requests: 10 }
sweep: { grid: { workload.concurrency: [1, 10], network.loss: [0%, 1%] } }
`,
      '/tmp/g.yaml',
    );
    expect(
      r.points.map((p) => [
        p.workload.type === 'multiplex' ? p.workload.concurrency : 0,
        p.network.profile.down.loss.model,
      ]),
    ).toEqual([
      [1, 'none'],
      [1, 'random'],
      [10, 'none'],
      [10, 'random'],
    ]);
    expect(r.scenario.sweep?.grid?.rows.unit).toBe('');
  });

  it('keeps the result file valid and readable: a point per cell in the summary, runs named by sweepIndex', () => {
    const runs = [0, 1, 2, 3].flatMap((cell) => [
      ...runsWithWorkload('h2', [100 + cell], cell * 2, { sweepIndex: cell }),
      ...runsWithWorkload('h3', [90 + cell], cell * 2 + 1, { sweepIndex: cell }),
    ]);
    const r = result(runs, {
      protocols: ['h2', 'h3'],
      extraYaml: 'sweep:\n  grid:\n    workload.concurrency: [1, 10]\n    workload.requests: [5, 50]\n',
    });
    expect(r.summary.sweep).toHaveLength(4);
    expect(r.summary.sweep?.map((p) => p.value)).toEqual([0, 1, 2, 3]);
    expect(r.summary.sweep?.[3]?.protocols.h3?.workloadMs.median).toBe(93);
    expect(r.summary.sweep?.[2]?.comparisons.some((c) => c.a === 'h3' && c.b === 'h2')).toBe(true);
    // result.json is written (validated against the current schema) and read back with the grid:
    // a reader can tell which cell a sweepIndex is.
    const back = parseResult(JSON.parse(resultJson(r)), 'grid/result.json');
    expect(back.scenario.sweep?.grid?.rows.labels).toEqual([1, 10]);
    expect(back.scenario.sweep?.grid?.columns.labels).toEqual([5, 50]);
    expect(back.summary.sweep).toHaveLength(4);
    expect(back.runs.filter((x) => x.sweepIndex === 3).map((x) => x.protocol)).toEqual(['h2', 'h3']);
  });

  it('makes results of different grids different measurements for compare (same cell count)', () => {
    const at = (requests: string) =>
      result(runsWithWorkload('h2', [100], 0, { sweepIndex: 0 }), {
        protocols: ['h2'],
        extraYaml: `sweep:\n  grid:\n    workload.concurrency: [1, 10]\n    workload.requests: ${requests}\n`,
      });
    expect(measurementKey(at('[5, 50]'))).toBe(measurementKey(at('[5, 50]')));
    expect(measurementKey(at('[5, 50]'))).not.toBe(measurementKey(at('[5, 60]')));
  });

  it('rejects a value the key does not accept, naming the cell and pointing at the value', () => {
    const m = fail('sweep:\n  grid:\n    network.rate: [1mbit, 0mbit]\n    network.rtt: [20ms, 300ms]\n');
    expect(m).toContain('at grid cell 2 (network.rate = "0mbit", network.rtt = "20ms")');
    // The location is the swept value (line 6, the rate list), and the value is the cell's own.
    expect(m).toMatch(/\/tmp\/grid\.yaml:6:\d+: network\.rate must be > 0: current value is "0mbit"/);
  });

  it('rejects a grid whose second key is invalid in its first cell', () => {
    expect(
      fail('sweep:\n  grid:\n    network.rate: [1mbit, 2mbit]\n    network.loss: [120%, 1%]\n'),
    ).toContain('at grid cell 0 (network.rate = "1mbit", network.loss = "120%")');
  });

  it('rejects a key swept twice', () => {
    expect(fail('sweep:\n  grid:\n    network.rtt: [20ms, 50ms]\n    network.rtt: [100ms, 200ms]\n')).toMatch(
      /grid\.yaml:7:5.*sweep\.grid\.network\.rtt is given twice: a key swept twice/,
    );
    expect(
      fail('sweep:\n  grid:\n    network.down: [1, 2]\n    network.down.rate: [1mbit, 2mbit]\n'),
    ).toContain('sweep.grid sweeps network.down.rate inside network.down: a key swept twice');
  });

  it('rejects other than two keys', () => {
    expect(
      fail(
        'sweep:\n  grid:\n    network.rate: [1mbit, 2mbit]\n    network.rtt: [20ms, 50ms]\n    network.loss: [0%, 1%]\n',
      ),
    ).toMatch(
      /grid\.yaml:8:\d+": sweep\.grid must have exactly two keys \(rows, then columns\); sweep more keys in separate scenarios: current keys are network\.rate, network\.rtt, network\.loss/,
    );
    expect(fail('sweep:\n  grid:\n    network.rate: [1mbit, 2mbit]\n')).toContain(
      'sweep.grid must have exactly two keys (rows, then columns); for one key write sweep: {key, values}: current keys are network.rate',
    );
    expect(fail('sweep: { grid: {} }\n')).toContain('current keys are none');
  });

  it(`rejects more than ${MAX_GRID_CELLS} cells`, () => {
    const rates = Array.from({ length: 11 }, (_, i) => `${i + 1}mbit`).join(', ');
    const rtts = Array.from({ length: 10 }, (_, i) => `${(i + 1) * 10}ms`).join(', ');
    expect(fail(`sweep:\n  grid:\n    network.rate: [${rates}]\n    network.rtt: [${rtts}]\n`)).toContain(
      `sweep.grid must have at most ${MAX_GRID_CELLS} cells (network.rate values × network.rtt values; every cell runs every protocol and repetition): current grid is 11 × 10 = 110 cells`,
    );
    // 10 × 10 is allowed.
    const ten = Array.from({ length: 10 }, (_, i) => `${i + 1}mbit`).join(', ');
    expect(
      points(`sweep:\n  grid:\n    network.rate: [${ten}]\n    network.rtt: [${rtts}]\n`).points,
    ).toHaveLength(100);
  });

  it('rejects malformed axes with the key path', () => {
    expect(fail('sweep:\n  grid:\n    network.rate: [1mbit]\n    network.rtt: [20ms, 50ms]\n')).toContain(
      'sweep.grid.network.rate must be a list of 2 to 50 values: current value is ["1mbit"]',
    );
    expect(fail('sweep:\n  grid:\n    network.rate: 1mbit\n    network.rtt: [20ms, 50ms]\n')).toContain(
      'sweep.grid.network.rate must be a list of 2 to 50 values: current value is "1mbit"',
    );
    expect(
      fail('sweep:\n  grid:\n    network.rate: [1mbit, 2mbit]\n    network.rtt: [20ms, fast]\n'),
    ).toMatch(
      /grid\.yaml:7:\d+": sweep\.grid\.network\.rtt\.1 must be a number or a value with a unit .*: current value is "fast"/,
    );
    expect(
      fail('sweep:\n  grid:\n    network.rate: [1mbit, 2mbit]\n    network.rtt: [20ms, 1%]\n'),
    ).toContain('sweep.grid.network.rtt must all have the same unit: current units are ms, %');
    expect(
      fail('sweep:\n  grid:\n    network.rate: [1mbit, 1000kbit]\n    network.rtt: [20ms, 50ms]\n'),
    ).toContain(
      'sweep.grid.network.rate.1 repeats sweep.grid.network.rate.0 (each value once, or two cells would be the same): current value is "1000kbit"',
    );
    expect(fail('sweep:\n  grid:\n    name: [1, 2]\n    network.rtt: [20ms, 50ms]\n')).toContain(
      'sweep.grid keys must be dotted paths of scalar keys',
    );
    expect(fail('sweep: { grid: [network.rate, network.rtt] }\n')).toContain(
      'sweep.grid must be a mapping of two keys to their values',
    );
    expect(
      fail('sweep: { key: network.loss, values: [1%, 2%], grid: { network.rtt: [1ms, 2ms] } }\n'),
    ).toContain('sweep has either {key, values} (one key) or grid (two keys), not both');
    expect(
      fail('sweep: { grid: { network.rate: [1mbit, 2mbit], network.rtt: [1ms, 2ms] }, order: rows }\n'),
    ).toContain('unknown key sweep.order');
    expect(fail('sweep: [1, 2]\n')).toContain('sweep must be a mapping {key, values} (one key');
  });
});
