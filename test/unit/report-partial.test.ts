/** A partial result says so at the top of report.md and report.html and under the terminal table. */
import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../harness/report/html.js';
import { renderMarkdown } from '../../harness/report/markdown.js';
import { parseResult, resultJson } from '../../harness/report/read.js';
import { partialNote, resultTextTable } from '../../harness/report/table.js';
import type { ResultFile } from '../../harness/model/result.js';
import { result, runsWithWorkload } from '../fixtures/synthetic.js';

const BANNER = 'Partial result: 39 of 45 runs — interrupted by SIGINT';

function partialResult(): ResultFile {
  const r = result([...runsWithWorkload('h1', [10, 12]), ...runsWithWorkload('h2', [9, 11], 2)]);
  return { ...r, partial: { reason: 'interrupted by SIGINT', runsPlanned: 45, runsDone: 39 } };
}

describe('partial results in the reports', () => {
  it('names runs done, runs planned and the reason', () => {
    expect(partialNote(partialResult())).toBe(BANNER);
    expect(partialNote(result(runsWithWorkload('h1', [10])))).toBeNull();
  });

  it('report.md opens with the banner, before anything else but the title', () => {
    const md = renderMarkdown(partialResult(), { figures: {} });
    const lines = md.split('\n');
    expect(lines[0]).toBe('# h3bench: synthetic');
    expect(lines[2]).toBe(`> **${BANNER}** (the tables, verdicts and figures cover these runs only)`);
    expect(renderMarkdown(result(runsWithWorkload('h1', [10])), { figures: {} })).not.toMatch(
      /Partial result/,
    );
  });

  it('report.html shows it right under the title, escaped', () => {
    const r: ResultFile = {
      ...partialResult(),
      partial: { reason: '3 infrastructure failures: <tun>', runsPlanned: 45, runsDone: 39 },
    };
    expect(renderHtml(r, { figures: {} })).toMatch(
      /<h1>h3bench: synthetic<\/h1>\n<p class="partial" role="alert"><strong>Partial result: 39 of 45 runs — 3 infrastructure failures: &lt;tun&gt;<\/strong>/,
    );
  });

  it('the terminal table ends with it, and survives a write and read of result.json', () => {
    const read = parseResult(JSON.parse(resultJson(partialResult())), 'partial.json');
    const table = resultTextTable(read).split('\n');
    expect(table.at(-1)).toBe(BANNER);
    expect(table[0]).toMatch(/^protocol\s+runs ok/);
    expect(resultTextTable(result(runsWithWorkload('h1', [10])))).not.toMatch(/Partial/);
  });
});
