/** The reports describe the network with core's `describeDirection`, loss included. */
import { describe, expect, it } from 'vitest';
import { describeDirection } from '../../core/network.js';
import { describeNetwork } from '../../harness/report/describe.js';
import { renderHtml } from '../../harness/report/html.js';
import { renderMarkdown } from '../../harness/report/markdown.js';
import { loadScenario } from '../../harness/scenario/load.js';
import type { ResultFile } from '../../harness/model/result.js';
import { result, runsWithWorkload } from '../fixtures/synthetic.js';

/** A synthetic result of the default scenario (scenarios/lossy-mobile.yaml). */
function defaultScenarioResult(): ResultFile {
  const { scenario } = loadScenario('lossy-mobile');
  const runs = (['h1', 'h2', 'h3'] as const).flatMap((p, k) => runsWithWorkload(p, [10, 11], k * 2));
  return { ...result(runs), scenario };
}

describe('describeNetwork', () => {
  it("states the default scenario's bursty loss in both directions, in core's words", () => {
    const r = defaultScenarioResult();
    const text = describeNetwork(r);
    const { down, up } = r.scenario.network.profile;
    expect(down.loss.model).toBe('gilbert-elliott');
    expect(text).toBe(
      `backend auto (profile lossy-mobile): RTT 100 ms; down ${describeDirection(down)}; up ${describeDirection(up)}`,
    );
    expect(describeDirection(down)).toMatch(/loss gilbert-elliott 1\.5%/);
    expect(text.match(/loss gilbert-elliott 1\.5%/g)).toHaveLength(2);
  });

  it('puts that description into report.md and report.html', () => {
    const r = defaultScenarioResult();
    const line = describeNetwork(r);
    expect(renderMarkdown(r, { figures: {} })).toContain(`- Network: ${line}`);
    expect(renderHtml(r, { figures: {} })).toContain(`<li>Network: ${line}</li>`);
  });

  it('says loopback for backend none and tolerates older files without the newer direction keys', () => {
    const r = result(runsWithWorkload('h1', [10]));
    expect(describeNetwork(r)).toBe('host loopback, no emulation (backend none)');
    const old = structuredClone(defaultScenarioResult());
    const legacy = old.scenario.network.profile.down as unknown as Record<string, unknown>;
    delete legacy.jitterDistribution;
    delete legacy.reorderPct;
    expect(describeNetwork(old)).toMatch(
      /^backend auto \(profile lossy-mobile\): RTT 100 ms; down 50ms, 10000kbit/,
    );
    expect(describeNetwork(old)).not.toMatch(/undefined|NaN/);
  });
});
