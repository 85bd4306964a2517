import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../core/errors.js';
import { loadProfile, parseScenario, profilesDir } from '../../harness/scenario/load.js';

const names = readdirSync(profilesDir())
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''));

describe('network profiles', () => {
  it('ships the profiles the scenario library promises', () => {
    expect(names).toEqual(
      expect.arrayContaining([
        'wpt-3g',
        'wpt-3gfast',
        'wpt-4g',
        'wpt-lte',
        'wpt-cable',
        'wpt-dsl',
        'wpt-fios',
        'lighthouse-mobile-slow-4g',
        'devtools-slow-4g',
        'devtools-fast-4g',
        'qir-default',
        'qir-transferloss',
        'same-datacenter',
        'same-region',
        'us-europe',
        'tokyo-virginia',
        'us-asia',
        'geo-satellite',
        'leo-satellite',
        'lossy-mobile',
      ]),
    );
  });

  it.each(names)('%s loads, cites a source and resolves as a scenario network', (name) => {
    const p = loadProfile(name);
    expect(p.description.length).toBeGreaterThan(10);
    expect(p.source.length).toBeGreaterThan(10);
    const s = parseScenario(
      `name: t\nnetwork: { profile: ${name}, backend: linkem }\nworkload: { type: bulk }\n`,
      '/tmp/t.yaml',
    );
    expect(s.networkProfile).toBe(name);
    expect(s.network.profile.down.delayMs + s.network.profile.up.delayMs).toBeGreaterThan(0);
  });

  it('matches the published numbers of a few presets', () => {
    const net = (name: string) =>
      parseScenario(
        `name: t\nnetwork: { profile: ${name}, backend: linkem }\nworkload: { type: bulk }\n`,
        '/t.yaml',
      ).network.profile;
    const g = net('wpt-3gfast');
    expect(g.down.delayMs + g.up.delayMs).toBe(150);
    expect(g.down.rateKbit).toBe(1600);
    expect(g.up.rateKbit).toBe(768);
    const q = net('qir-default');
    expect(q.down.delayMs).toBe(15);
    expect(q.down.rateKbit).toBe(10_000);
    expect(q.down.queuePackets).toBe(25);
  });

  it('lets the scenario override profile keys', () => {
    const s = parseScenario(
      'name: t\nnetwork: { profile: wpt-lte, backend: linkem, rtt: 20ms }\nworkload: { type: bulk }\n',
      '/t.yaml',
    );
    expect(s.network.profile.down.delayMs).toBe(10);
    expect(s.network.profile.down.rateKbit).toBe(12_000);
  });

  it('replaces the link with --profile and switches a loopback scenario to backend auto', () => {
    const s = parseScenario('name: t\nnetwork: { backend: none }\nworkload: { type: bulk }\n', '/t.yaml', {
      profile: 'us-europe',
    });
    expect(s.network.backend).toBe('auto');
    expect(s.networkProfile).toBe('us-europe');
    expect(s.network.profile.down.delayMs).toBe(40);
  });

  it('rejects unknown and malformed profile names with a clear message', () => {
    const msg = (yaml: string) => {
      try {
        parseScenario(yaml, '/t.yaml');
      } catch (err) {
        if (err instanceof ScenarioError) return err.message;
      }
      return '';
    };
    expect(msg('name: t\nnetwork: { profile: nowhere }\nworkload: { type: bulk }\n')).toContain(
      'scenarios/profiles/nowhere.yaml does not exist',
    );
    expect(msg('name: t\nnetwork: { profile: 5 }\nworkload: { type: bulk }\n')).toContain(
      'network.profile must be a profile name',
    );
    expect(msg('name: t\nnetwork: { profile: "../etc" }\nworkload: { type: bulk }\n')).toContain(
      'a profile name must match',
    );
  });
});
