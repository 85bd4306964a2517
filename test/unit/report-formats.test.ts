/** `report.formats`: result.json always, the listed formats' files and nothing else. */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportCommand } from '../../harness/cli/report.js';
import { renderAll } from '../../harness/report/index.js';
import { resultJson } from '../../harness/report/read.js';
import { parseScenario } from '../../harness/scenario/load.js';
import { REPORT_FORMATS, SCENARIO_DEFAULTS, type ReportFormat } from '../../harness/scenario/schema.js';
import type { ResultFile } from '../../harness/model/result.js';
import { result, runsWithWorkload } from '../fixtures/synthetic.js';

const FIGURES = ['completion-ci.svg', 'hol-ci.svg', 'latency-cdf.svg', 'swimlanes.svg'];
const ALL = ['report.html', 'report.md', 'result.json', 'runs.csv', ...FIGURES].sort();

const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-formats-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

let r: ResultFile;
beforeAll(() => {
  r = result([...runsWithWorkload('h1', [10, 12]), ...runsWithWorkload('h2', [9, 11], 2)]);
});

const names = async (formats: readonly ReportFormat[]): Promise<string[]> =>
  Object.keys(await renderAll(r, formats)).sort();

describe('report.formats', () => {
  it('defaults to every format, which writes every file', async () => {
    expect(r.scenario.report.formats).toEqual([...REPORT_FORMATS]);
    expect(SCENARIO_DEFAULTS.report.formats).toEqual(REPORT_FORMATS);
    expect(await names(r.scenario.report.formats)).toEqual(ALL);
  });

  it('writes result.json always and only the files of the listed formats', async () => {
    expect(await names(['json'])).toEqual(['result.json']);
    expect(await names(['csv'])).toEqual(['result.json', 'runs.csv']);
    expect(await names(['md'])).toEqual(['report.md', 'result.json', ...FIGURES].sort());
    expect(await names(['html'])).toEqual(['report.html', 'result.json', ...FIGURES].sort());
    expect(await names(['csv', 'html'])).toEqual(
      ['report.html', 'result.json', 'runs.csv', ...FIGURES].sort(),
    );
  });

  it('rejects an unknown or repeated format with the usual schema error', () => {
    const yaml = (formats: string) =>
      `name: a\nworkload: {type: multiplex, requests: 1, size: 1KB, concurrency: 1}\nreport: {formats: ${formats}}\n`;
    expect(() => parseScenario(yaml('[json, pdf]'), 'a.yaml')).toThrow(
      /report\.formats\.1 must be one of "json", "csv", "md", "html": current value is "pdf"/,
    );
    expect(() => parseScenario(yaml('[md, md]'), 'a.yaml')).toThrow(
      /report\.formats must not repeat a format/,
    );
    expect(parseScenario(yaml('[csv]'), 'a.yaml').report.formats).toEqual(['csv']);
  });

  it('h3bench report --formats writes only those files and rejects unknown ones', async () => {
    const dir = path.join(tmp, 'run');
    rmSync(dir, { recursive: true, force: true });
    expect(await reportCommand(['--out', dir, writeResult()])).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(ALL.filter((n) => n !== 'result.json'));
    const only = path.join(tmp, 'csv-only');
    expect(await reportCommand(['--out', only, '--formats', 'csv', writeResult()])).toBe(0);
    expect(readdirSync(only)).toEqual(['runs.csv']);
    await expect(reportCommand(['--formats', 'pdf', writeResult()])).rejects.toThrow(
      expect.objectContaining({ exitCode: 2 }) as Error,
    );
  });
});

function writeResult(): string {
  const file = path.join(tmp, 'result.json');
  writeFileSync(file, resultJson(r));
  return file;
}
