import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportCommand } from '../../harness/cli/report.js';
import { CSV_COLUMNS } from '../../harness/report/csv.js';
import { figureSpecs } from '../../harness/report/figures.js';
import { renderAll } from '../../harness/report/index.js';
import { ResultFileError, parseResult, readResult, resultJson } from '../../harness/report/read.js';
import { READABLE_SCHEMA_VERSIONS, RESULT_SCHEMA_VERSION } from '../../harness/model/result.js';
import { client, result, runRecord } from '../fixtures/synthetic.js';

const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/result-smoke.json');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-report-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});
const fixtureJson = (): Record<string, unknown> =>
  JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;

describe('readResult / parseResult', () => {
  it('reads the smoke fixture and keeps the fields scripts rely on', () => {
    const r = readResult(FIXTURE);
    expect(r.schemaVersion).toBe(RESULT_SCHEMA_VERSION);
    for (const p of ['h1', 'h2'] as const) {
      const s = r.summary.protocols[p];
      expect(s?.completionMs.p50).toBeGreaterThan(0);
      expect(s?.ttfbMs.p50).toBeGreaterThan(0);
      for (const k of [
        'stallCount',
        'stallMs',
        'synchronizedStallShare',
        'collateralStallMs',
        'stallsAfterLoss',
        'stallsWithoutLoss',
      ] as const) {
        expect(s?.hol[k]).toHaveProperty('median');
        expect(s?.hol[k]).toHaveProperty('ci95');
      }
      expect(s?.histograms.completionMs.n).toBe(80);
    }
    expect(r.summary.runs).toHaveLength(4);
    expect(r.summary.comparisons.length).toBeGreaterThan(0);
  });

  it('rejects an unknown schema version with exit code 2', () => {
    const j = { ...fixtureJson(), schemaVersion: 99 };
    expect(() => parseResult(j, 'x.json')).toThrow(ResultFileError);
    try {
      parseResult(j, 'x.json');
    } catch (err) {
      expect((err as ResultFileError).exitCode).toBe(2);
      expect((err as Error).message).toMatch(
        `schemaVersion is 99: this build reads versions ${READABLE_SCHEMA_VERSIONS.join(', ')} (it was written by a newer h3bench)`,
      );
    }
  });

  it('rejects a file that does not match its schema, naming the key', () => {
    const j = fixtureJson();
    (j.runs as Record<string, unknown>[])[0] = { ...(j.runs as Record<string, unknown>[])[0], ok: 'yes' };
    expect(() => parseResult(j, 'x.json')).toThrow(/runs\.0\.ok/);
    expect(() => parseResult({ hello: 1 }, 'x.json')).toThrow(/no schemaVersion/);
    expect(() => readResult(path.join(tmp, 'missing'))).toThrow(ResultFileError);
  });

  it('upgrades a schema 1 file by recomputing its summary from the runs', () => {
    const j = fixtureJson();
    j.schemaVersion = 1;
    j.summary = { ok: true, protocols: {} };
    const r = parseResult(j, 'v1.json');
    expect(r.schemaVersion).toBe(RESULT_SCHEMA_VERSION);
    expect(r.summary.protocols.h2?.hol.stallMs.n).toBe(2);
  });

  it('reads a schema 2 file (older summary: share 0, no requestsFailed, no socketDrops) by recomputing it', () => {
    const j = fixtureJson();
    j.schemaVersion = 2;
    const summary = j.summary as {
      protocols: Record<string, { metrics: Record<string, unknown> }>;
      runs: Record<string, unknown>[];
    };
    for (const p of Object.values(summary.protocols)) delete p.metrics.requestsFailed;
    for (const run of summary.runs) {
      delete run.socketDrops;
      (run.hol as Record<string, unknown>).synchronizedStallShare = 0;
    }
    const r = parseResult(j, 'v2.json');
    expect(r.schemaVersion).toBe(RESULT_SCHEMA_VERSION);
    expect(r.summary.protocols.h1?.metrics.requestsFailed.median).toBe(0);
    expect(r.summary.runs[0]?.hol?.synchronizedStallShare).toBeNull();
  });

  it('resultJson refuses to write what a reader would reject', () => {
    const r = readResult(FIXTURE);
    expect(() => resultJson({ ...r, runId: '' })).toThrow(/Refusing to write result\.json/);
    expect(parseResult(JSON.parse(resultJson(r)), 'again').runId).toBe(r.runId);
  });
});

describe('renderAll', () => {
  let files: Record<string, string> = {};
  beforeAll(async () => {
    files = await renderAll(readResult(FIXTURE));
  });

  it('writes result.json, runs.csv, report.md, report.html and the SVG figures', () => {
    expect(Object.keys(files).sort()).toEqual(
      [
        'completion-ci.svg',
        'hol-ci.svg',
        'latency-cdf.svg',
        'report.html',
        'report.md',
        'result.json',
        'runs.csv',
        'swimlanes.svg',
      ].sort(),
    );
    for (const [name, svg] of Object.entries(files).filter(([n]) => n.endsWith('.svg'))) {
      expect(svg, name).toMatch(/^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect(svg, name).toMatch(/class="mark-/);
    }
  });

  it('runs.csv has one row per run and the documented columns in order', () => {
    const lines = (files['runs.csv'] ?? '').trim().split('\n');
    expect(lines[0]).toBe(CSV_COLUMNS.map(([n]) => n).join(','));
    expect(lines[0]?.startsWith('run_id,scenario,scenario_hash,run_index,repetition,protocol,ok,')).toBe(
      true,
    );
    expect(lines).toHaveLength(5);
    expect(lines.slice(1).every((l) => l.split(',').length === CSV_COLUMNS.length)).toBe(true);
  });

  it('report.html is self-contained: inline SVG, no script, no external resource', () => {
    const html = files['report.html'] ?? '';
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*"(https?:)?\/\//i);
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(4);
    expect(html).toMatch(/<h2>Verdicts<\/h2>/);
  });

  it('report.md has verdicts, the CI table, HOL and links to the figures', () => {
    const md = files['report.md'] ?? '';
    expect(md).toMatch(/^- h2 vs h1, workload completion \(unpaired: only 2 pairs\): /m);
    expect(md).toMatch(/\| h2 · h3bench → h3bench \| 2\/2 \| 80\/0 \| \d+\.\d \[\d+\.\d, \d+\.\d\] \|/);
    expect(md).toContain(
      "- Endpoints: client h3bench's own; server h3bench's own; HTTP/3 engine of h3bench's endpoints quiche-0.18",
    );
    expect(md).toMatch(/## Head-of-line blocking/);
    expect(md).toMatch(/!\[[^\]]*\]\(swimlanes\.svg\)/);
  });
});

describe('figures', () => {
  it('draws a metric-vs-parameter figure for a sweep and marks losses in the swimlanes', async () => {
    const runs = [0, 1].flatMap((point) =>
      (['h2', 'h3'] as const).flatMap((p, k) =>
        [0, 1].map((rep) =>
          runRecord(
            point * 4 + k * 2 + rep,
            rep,
            client(p, [{ data: [0, 10 + point * 50 + rep, 90] }, { data: [1, 11, 91] }]),
            {
              sweepIndex: point,
              rttMs: 10,
              lossTimesMs: [5],
            },
          ),
        ),
      ),
    );
    const r = result(runs, {
      protocols: ['h2', 'h3'],
      extraYaml: 'sweep:\n  key: workload.concurrency\n  values: [1, 2]\n',
    });
    expect(r.summary.sweep?.map((p) => p.value)).toEqual([1, 2]);
    const specs = figureSpecs(r);
    expect(Object.keys(specs)).toContain('sweep');
    const files = await renderAll(r);
    expect(files['sweep.svg']).toMatch(/^<svg/);
    expect(files['swimlanes.svg']).toMatch(/packet lost/);
    expect(r.summary.protocols.h2?.hol.lossLog).toBe('present');
    // The reports compare protocols per point and say why there is no pooled verdict.
    const md = files['report.md'] ?? '';
    expect(md).toMatch(
      /This is a sweep over workload\.concurrency \(2 values\): protocols are compared at each value separately/,
    );
    expect(md).toMatch(
      /^- workload\.concurrency = 1: h3 vs h2, workload completion \(unpaired: only 2 pairs\): too few runs for a verdict \(n=2; need 5\)/m,
    );
    expect(md).toMatch(/^- workload\.concurrency = 2: h3 vs h2, /m);
    expect(md).toMatch(/^\| h2 · h3bench → h3bench @ workload\.concurrency = 2 \| 2\/2 \| /m);
    expect(md).not.toMatch(/^- h3 vs h2/m);
    expect(files['report.html']).toMatch(/protocols are compared at each value separately/);
  });
});

describe('h3bench report', () => {
  it('regenerates every report next to result.json and leaves result.json alone', async () => {
    const dir = path.join(tmp, 'run');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const original = readFileSync(FIXTURE, 'utf8');
    writeFileSync(path.join(dir, 'result.json'), original);
    expect(await reportCommand([dir])).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(
      [
        'completion-ci.svg',
        'hol-ci.svg',
        'latency-cdf.svg',
        'report.html',
        'report.md',
        'result.json',
        'runs.csv',
        'swimlanes.svg',
      ].sort(),
    );
    expect(readFileSync(path.join(dir, 'result.json'), 'utf8')).toBe(original);
  });
  it('fails with exit code 2 on a bad file', async () => {
    const bad = path.join(tmp, 'bad.json');
    writeFileSync(bad, '{"schemaVersion": 3}');
    await expect(reportCommand([bad])).rejects.toThrow(expect.objectContaining({ exitCode: 2 }) as Error);
  });
});
