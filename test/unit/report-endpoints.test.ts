/** Which client and server produced each row (stacks.client, stacks.server, stacks.h3). */
import { describe, expect, it } from 'vitest';
import { describeEndpoints, endpointsLabel } from '../../harness/report/describe.js';
import type { ResultFile } from '../../harness/model/result.js';
import type { Stacks } from '../../harness/scenario/schema.js';
import { result, workloadRun } from '../fixtures/synthetic.js';

function withStacks(stacks: Stacks, settings?: Record<string, string>): ResultFile {
  const r = result([workloadRun(0, 0, 'h2', 1000, 30), workloadRun(1, 0, 'h3', 900, 30)]);
  const runs = settings
    ? r.runs.map((x) => (x.client ? { ...x, client: { ...x.client, settings } } : x))
    : r.runs;
  return { ...r, runs, scenario: { ...r.scenario, stacks } };
}

describe('endpointsLabel', () => {
  it('names client → server, and the HTTP/3 engine where one of our endpoints speaks h3', () => {
    const own = withStacks({ h3: 'quiche-0.29', client: 'h3bench', server: 'h3bench' });
    expect(endpointsLabel(own, 'h2')).toBe('h2 · h3bench → h3bench');
    expect(endpointsLabel(own, 'h3')).toBe('h3 · h3bench → h3bench (quiche-0.29)');
    const caddy = withStacks({ h3: 'quiche-0.18', client: 'h3bench', server: 'caddy' });
    expect(endpointsLabel(caddy, 'h2')).toBe('h2 · h3bench → caddy');
    expect(endpointsLabel(caddy, 'h3')).toBe('h3 · h3bench → caddy (quiche-0.18)');
    const browser = withStacks({ h3: 'quiche-0.18', client: 'chromium', server: 'h3bench' });
    expect(endpointsLabel(browser, 'h3')).toBe('h3 · chromium → h3bench (quiche-0.18)');
  });

  it('describes the endpoints with the versions the runs recorded', () => {
    const r = withStacks(
      { h3: 'quiche-0.18', client: 'chromium', server: 'h3bench' },
      { engine: 'chromium', version: '156.0.8078.129' },
    );
    expect(describeEndpoints(r)).toBe(
      "client chromium; server h3bench's own; HTTP/3 engine of h3bench's endpoints quiche-0.18; versions: chromium 156.0.8078.129",
    );
  });
});
