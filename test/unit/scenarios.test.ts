/**
 * Every shipped scenario (scenarios/*.yaml) and network profile (scenarios/profiles/*.yaml) loads
 * through the loaders `h3bench validate`, `h3bench run` and `h3bench list` use, so a broken shipped
 * file fails the tests rather than a user's first run.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../core/paths.js';
import { validateCommand } from '../../harness/cli/validate.js';
import { loadProfile, loadScenario, profilesDir } from '../../harness/scenario/load.js';

const yamlNames = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();

const scenarios = yamlNames(path.join(projectRoot(), 'scenarios'));
const profiles = yamlNames(profilesDir());

describe('shipped scenarios', () => {
  it('include the default scenario of make bench', () => {
    expect(scenarios).toContain('lossy-mobile');
  });

  it.each(scenarios)('%s loads and validates (h3bench validate)', (name) => {
    const loaded = loadScenario(name);
    expect(loaded.scenario.name).toBe(name);
    expect(loaded.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(loaded.points.length).toBeGreaterThanOrEqual(1);
    expect(loaded.scenario.description.length).toBeGreaterThan(0);
  });

  it('h3bench validate exits 0 on every shipped scenario', () => {
    const log = console.log;
    console.log = () => undefined;
    try {
      for (const name of scenarios) expect(validateCommand([name]), name).toBe(0);
    } finally {
      console.log = log;
    }
  });
});

describe('shipped network profiles', () => {
  it.each(profiles)('%s loads', (name) => {
    const p = loadProfile(name);
    expect(p.description.length).toBeGreaterThan(0);
  });
});
