/**
 * report.html opened in headless Chromium (Debian package `chromium`, installed by
 * scripts/setup-apt.sh): the inline Vega SVG charts must be in the rendered DOM with their marks.
 * Skipped, with the reason, when Chromium is not installed.
 */
import { findChromium } from '../../harness/workload/chromium.js';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { renderAll } from '../../harness/report/index.js';
import { readResult } from '../../harness/report/read.js';

const execFileP = promisify(execFile);

const chromium = findChromium();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-chromium-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const skipReason =
  chromium === null ? ' (skipped: chromium is not installed; scripts/setup-apt.sh installs it as root)' : '';
describe.skipIf(chromium === null)(`report.html in headless Chromium${skipReason}`, () => {
  it('renders every chart as SVG with marks in the DOM, offline', async () => {
    const files = await renderAll(
      readResult(path.resolve(import.meta.dirname, '../fixtures/result-smoke.json')),
    );
    const html = path.join(tmp, 'report.html');
    writeFileSync(html, files['report.html'] ?? '');
    const { stdout } = await execFileP(
      chromium ?? 'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${path.join(tmp, 'profile')}`,
        '--dump-dom',
        pathToFileURL(html).href,
      ],
      { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const figures = [...stdout.matchAll(/<figure id="fig-([a-z-]+)">\s*<svg[^>]*>/g)].map((m) => m[1]);
    expect(figures).toEqual(['latency-cdf', 'completion-ci', 'hol-ci', 'swimlanes']);
    // Vega marks: lines of the CDF, points of the CI plot, rules of the swimlanes.
    expect(stdout).toMatch(/class="mark-line role-mark/);
    expect(stdout).toMatch(/class="mark-symbol role-mark/);
    expect(stdout).toMatch(/class="mark-rule role-mark/);
    expect((stdout.match(/<path /g) ?? []).length).toBeGreaterThan(50);
  }, 120_000);
});
