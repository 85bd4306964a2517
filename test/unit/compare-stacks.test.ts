/** `h3bench compare` across endpoints: compared, with a note naming the stacks that differ. */
import { describe, expect, it } from 'vitest';
import { compareResults } from '../../harness/compare/compare.js';
import type { ResultFile } from '../../harness/model/result.js';
import type { Stacks } from '../../harness/scenario/schema.js';
import { result, runsWithWorkload } from '../fixtures/synthetic.js';

function withStacks(runId: string, stacks: Stacks): ResultFile {
  const r = result(runsWithWorkload('h2', [100, 101, 99, 100, 102, 98], 0), { protocols: ['h2'], runId });
  return { ...r, scenario: { ...r.scenario, stacks } };
}

describe('compare across stacks', () => {
  it('notes every endpoint that differs, and nothing when they agree', () => {
    const own: Stacks = { h3: 'quiche-0.18', client: 'h3bench', server: 'h3bench' };
    const other: Stacks = { h3: 'quiche-0.29', client: 'h3bench', server: 'caddy' };
    const c = compareResults([withStacks('a', own)], [withStacks('b', other)], { threshold: 0.05 });
    expect(c.notes.join('\n')).toContain(
      'the endpoints differ (stacks.server h3bench vs caddy, stacks.h3 quiche-0.18 vs quiche-0.29)',
    );
    const same = compareResults([withStacks('a', own)], [withStacks('b', own)], { threshold: 0.05 });
    expect(same.notes.join('\n')).not.toContain('endpoints differ');
  });
});
