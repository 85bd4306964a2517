/**
 * What a person reads first: the terminal's headline block (significant verdicts first, counts of
 * the rest, the unpaired fallback), the paragraph report.md and report.html open with, and the
 * variance tables (spread over repetitions, drops per run, paired ratios next to each side's drops).
 */
import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../harness/report/html.js';
import { renderMarkdown } from '../../harness/report/markdown.js';
import {
  HEADLINE_MAX_SIGNIFICANT,
  PAIR_HEADER,
  SPREAD_HEADER,
  headlineBlock,
  openingParagraph,
  pairRows,
  spreadRows,
  verdictLines,
} from '../../harness/report/table.js';
import type { ResultFile } from '../../harness/model/result.js';
import type { Protocol } from '../../harness/scenario/schema.js';
import { client, result, runRecord, runsWithWorkload } from '../fixtures/synthetic.js';

/** Three protocols, 6 repetitions: h3 clearly faster than h2, h2 clearly faster than h1. */
function threeProtocols(): ResultFile {
  return result(
    [
      ...runsWithWorkload('h1', [300, 310, 305, 320, 298, 315], 0),
      ...runsWithWorkload('h2', [200, 205, 210, 199, 202, 208], 6),
      ...runsWithWorkload('h3', [100, 104, 99, 101, 103, 102], 12),
    ],
    { protocols: ['h3', 'h2', 'h1'] },
  );
}

/** Runs whose workload takes `w[i]` ms and whose emulator dropped `drops[i]` packets. */
function runsWithDrops(p: Protocol, w: readonly number[], drops: readonly number[], first: number) {
  return w.map((ms, i) =>
    runRecord(first + i, i, client(p, [{ data: [ms], headers: ms, end: ms }]), {
      lossTimesMs: Array.from({ length: drops[i] ?? 0 }, (_, k) => k),
    }),
  );
}

describe('headline block (terminal)', () => {
  it('fits in 12 lines for three protocols, significant verdicts first, then the count line', () => {
    const r = threeProtocols();
    const all = verdictLines(r);
    const block = headlineBlock(r);
    expect(all.length).toBeGreaterThan(12);
    expect(block.length).toBeLessThanOrEqual(12);
    const significant = r.summary.comparisons.filter((c) => c.significant === true);
    expect(significant.length).toBeGreaterThan(HEADLINE_MAX_SIGNIFICANT);
    expect(block[0]).toBe(
      `${significant.length} significant differences of ${r.summary.comparisons.length} contrasts (95% intervals):`,
    );
    // The listed lines are verdict texts of significant contrasts, most important metric first.
    const listed = block.slice(1, 1 + HEADLINE_MAX_SIGNIFICANT);
    expect(listed[0]).toMatch(/^ {2}h3 completes the workload 50% faster than h2 \[\d+%, \d+%\]$/);
    expect(listed.slice(0, 3).every((l) => /completes the workload/.test(l))).toBe(true);
    for (const l of listed) expect(significant.map((c) => `  ${c.verdict}`)).toContain(l);
    expect(block[1 + HEADLINE_MAX_SIGNIFICANT]).toMatch(
      new RegExp(`^  and ${significant.length - HEADLINE_MAX_SIGNIFICANT} more: `),
    );
    const rest = r.summary.comparisons.length - significant.length;
    const countLine = new RegExp(
      `^${rest - 3} contrasts: no significant difference; 3: no verdict .* — see report\\.md`,
    );
    expect(block.filter((l) => countLine.test(l))).toHaveLength(1);
    expect(block.findIndex((l) => countLine.test(l))).toBe(2 + HEADLINE_MAX_SIGNIFICANT);
  });

  it('orders by headline metric, not by pair', () => {
    const block = headlineBlock(threeProtocols());
    const order = ['completes the workload', 'completes requests \\(p50\\)', 'completes requests \\(p99\\)'];
    const firstIndex = order.map((w) => block.findIndex((l) => new RegExp(w).test(l)));
    expect(firstIndex).toEqual([...firstIndex].sort((a, b) => a - b));
    expect(firstIndex.every((i) => i > 0)).toBe(true);
  });

  it('says when contrasts fell back to unpaired intervals, and nothing without comparisons', () => {
    const r = threeProtocols();
    const paired = headlineBlock(r);
    expect(paired.some((l) => /^Unpaired/.test(l))).toBe(
      r.summary.comparisons.some((c) => c.method === 'unpaired'),
    );
    const forced: ResultFile = {
      ...r,
      summary: {
        ...r.summary,
        comparisons: r.summary.comparisons.map((c) =>
          c.metric === 'workloadMs' ? { ...c, method: 'unpaired' as const, pairs: 3 } : c,
        ),
      },
    };
    const line = headlineBlock(forced).at(-1);
    expect(line).toMatch(
      /^Unpaired \(fewer than 5 complete pairs\): workload completion \(h3 vs h2, h3 vs h1, h2 vs h1\)/,
    );
    expect(headlineBlock(result(runsWithWorkload('h1', [10, 11])))).toEqual([]);
  });

  it('without significant differences: a heading and the count line', () => {
    const r = result([
      ...runsWithWorkload('h2', [100, 120, 90, 110, 105], 0),
      ...runsWithWorkload('h3', [110, 95, 115, 100, 108], 5),
    ]);
    const block = headlineBlock(r);
    expect(block[0]).toMatch(/^No significant difference found in \d+ contrasts/);
    expect(block.slice(1).some((l) => /contrasts?: no significant difference/.test(l))).toBe(true);
  });
});

describe('opening paragraph (report.md, report.html)', () => {
  it('names protocols, link, repetitions, the significant findings with intervals and the rest', () => {
    const r = threeProtocols();
    const p = openingParagraph(r);
    expect(p).toMatch(
      /^This run compared h3, h2 and h1 over host loopback without emulation, 6 repetitions each of multiplex/,
    );
    const firstVerdict = r.summary.comparisons.find(
      (c) => c.metric === 'workloadMs' && c.significant,
    )?.verdict;
    expect(p).toContain(`Significant (95% intervals): ${firstVerdict}`);
    expect(p).toMatch(/and \d+ more listed below\./);
    expect(p).toMatch(/No significant difference in connection setup p50 \(h3 vs h2, h3 vs h1, h2 vs h1\)/);
    const sentences = p.split(/(?<=\.) (?=[A-Z])/);
    expect(sentences.length).toBeGreaterThanOrEqual(2);
    expect(sentences.length).toBeLessThanOrEqual(4);
  });

  it('opens report.md after the title and report.html after the heading, before the verdict list', () => {
    const r = threeProtocols();
    const md = renderMarkdown(r, { figures: {} });
    expect(md.split('\n')[2]).toBe(openingParagraph(r));
    expect(md.indexOf('This run compared')).toBeLessThan(md.indexOf('## Verdicts'));
    const html = renderHtml(r, { figures: {} });
    expect(html).toMatch(/<h1>h3bench: synthetic<\/h1>\n+<p class="summary">This run compared h3, h2 and h1/);
    expect(html.indexOf('class="summary"')).toBeLessThan(html.indexOf('<h2>Verdicts</h2>'));
  });

  it('says so for one protocol', () => {
    expect(openingParagraph(result(runsWithWorkload('h1', [10, 11])))).toMatch(
      /With one protocol there is nothing to compare\.$/,
    );
  });
});

describe('variance tables', () => {
  const r = result([
    ...runsWithDrops('h2', [200, 220, 400], [3, 5, 9], 0),
    ...runsWithDrops('h3', [100, 110, 300], [4, 1, 9], 3),
  ]);

  it('per protocol: values per repetition, min/median/max, CV and drops per run', () => {
    expect(SPREAD_HEADER[0]).toBe('protocol');
    expect(spreadRows(r)).toEqual([
      ['h2', '200, 220, 400', '200.0', '220.0', '400.0', '40', '3, 5, 9', '3/5.0/9'],
      ['h3', '100, 110, 300', '100.0', '110.0', '300.0', '66', '4, 1, 9', '1/4.0/9'],
    ]);
  });

  it('per repetition: the ratio next to each side of the pair and its drops', () => {
    expect(PAIR_HEADER).toEqual([
      'pair',
      'repetition',
      'workload ms a',
      'workload ms b',
      'a/b',
      'drops a',
      'drops b',
    ]);
    expect(pairRows(r)).toEqual([
      ['h3 vs h2', '1', '100.0', '200.0', '0.50', '4', '3'],
      ['h3 vs h2', '2', '110.0', '220.0', '0.50', '1', '5'],
      ['h3 vs h2', '3', '300.0', '400.0', '0.75', '9', '9'],
    ]);
  });

  it('appear in report.md and report.html', () => {
    const md = renderMarkdown(r, { figures: {} });
    expect(md).toContain('## Variance over repetitions');
    expect(md).toContain('| h3 vs h2 | 2 | 110.0 | 220.0 | 0.50 | 1 | 5 |');
    const html = renderHtml(r, { figures: {} });
    expect(html).toContain('<h2>Variance over repetitions</h2>');
    expect(html).toContain('<tr><th>h3</th><td>100, 110, 300</td>');
  });
});
