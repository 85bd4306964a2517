import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ScenarioError } from '../../core/errors.js';
import { pageFiles } from '../../harness/proto/pages.js';
import { parseScenario } from '../../harness/scenario/load.js';
import { loadPageProfile, pageProfileNames } from '../../harness/scenario/pages.js';
import { describeWorkload, pageOf, type PageLoadWorkload } from '../../harness/scenario/workload.js';

const scenario = (workload: string) => parseScenario(`name: t\nworkload:\n${workload}`, '/tmp/p.yaml');
const failure = (workload: string): string => {
  try {
    scenario(workload);
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return (err as Error).message;
  }
  throw new Error('expected the scenario to be refused');
};

describe('shipped page profiles', () => {
  it('include median-mobile and small', () => {
    expect(pageProfileNames()).toEqual(expect.arrayContaining(['median-mobile', 'small']));
  });

  it.each(pageProfileNames())('%s loads, cites a source and builds a page', (name) => {
    const p = loadPageProfile(name);
    expect(p.description.length).toBeGreaterThan(10);
    expect(p.source.length).toBeGreaterThan(3);
    const files = pageFiles(p);
    expect(files.length).toBe(1 + p.waves.reduce((a, w) => a + w.count, 0));
  });

  it('median-mobile: 46 requests by type over 3 depths, 1.53 MB', () => {
    const p = loadPageProfile('median-mobile');
    const files = pageFiles(p);
    const by = (kind: string) => files.filter((f) => f.kind === kind);
    expect([by('html').length, by('css').length, by('js').length, by('img').length]).toEqual([1, 6, 22, 17]);
    expect(Math.max(...files.map((f) => f.depth))).toBe(3);
    expect(files.reduce((a, f) => a + f.bytes, 0)).toBe(1_528_000);
    expect(by('html')[0]?.bytes).toBe(16_000);
  });
});

describe('workload.page', () => {
  it('takes the document and waves from the profile, and keeps its name', () => {
    const w = scenario('  type: page-load\n  page: small\n  connections: 2\n').workload as PageLoadWorkload;
    expect(w.page).toBe('small');
    expect(w.connections).toBe(2);
    expect(pageOf(w)).toEqual({
      documentBytes: 10_000,
      waves: [
        { count: 2, sizeBytes: 5000, type: 'css', depth: 1 },
        { count: 2, sizeBytes: 10_000, type: 'js', depth: 1 },
        { count: 4, sizeBytes: 20_000, type: 'img', depth: 2 },
      ],
    });
    expect(describeWorkload(w)).toMatch(/^page-load: /);
  });

  it('refuses an unknown name, naming the file, key, value and the profiles there', () => {
    const msg = failure('  type: page-load\n  page: nope\n');
    expect(msg).toMatch(
      /^Cannot load scenario "\/tmp\/p\.yaml": \/tmp\/p\.yaml:4:9: workload\.page must name a page profile/,
    );
    expect(msg).toContain('median-mobile, small');
    expect(msg).toContain('current value is "nope"');
    expect(failure('  type: page-load\n  page: ../x\n')).toContain('workload.page must name a page profile');
  });

  it('refuses page together with document or waves', () => {
    const msg = failure('  type: page-load\n  page: small\n  document: 20KB\n');
    expect(msg).toContain('workload.page cannot be combined with workload.document');
  });

  it('refuses sizes too small for the page at load time, with the key path, minimum and value', () => {
    const doc = failure('  type: page-load\n  document: 1KB\n  waves:\n    - { count: 30, size: 2KB }\n');
    expect(doc).toMatch(
      /^Cannot load scenario "\/tmp\/p\.yaml": \/tmp\/p\.yaml:4:13: workload\.document must be at least \d+ bytes to hold the document of the generated page \(\/page\/index\.html\): current value is "1KB"$/,
    );
    const wave = failure(
      '  type: page-load\n  waves:\n    - { count: 3, size: 2KB }\n    - { count: 2, size: 20B, type: css }\n    - { count: 1, size: 3KB }\n',
    );
    expect(wave).toMatch(
      /\/tmp\/p\.yaml:6:\d+: workload\.waves\.1\.size must be at least \d+ bytes to hold each file of this entry of the generated page \(\/page\/d2-1-0\.css\): current value is "20B"$/,
    );
  });
});

describe('loadPageProfile errors', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'h3bench-pages-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, text: string) => {
    writeFileSync(path.join(dir, `${name}.yaml`), text);
  };

  it('names the profile file, line, key, minimum and value', () => {
    write(
      'tiny',
      'description: d\nsource: s\ndocument: 200B\nwaves:\n  - { type: js, count: 1, size: 1KB }\n  - { type: img, count: 1, size: 10B }\n',
    );
    expect(() => loadPageProfile('tiny', dir)).toThrow(ScenarioError);
    let msg = '';
    try {
      loadPageProfile('tiny', dir);
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/^Cannot load page profile "[^"]*tiny\.yaml": /);
    expect(msg).toMatch(/tiny\.yaml:3:11: document must be at least \d+ bytes .*: current value is "200B"/);
    expect(msg).toMatch(
      /tiny\.yaml:6:\d+: waves\.1\.size must be at least \d+ bytes .*: current value is "10B"/,
    );
  });

  it('refuses unknown keys, bad YAML and a missing file', () => {
    write('extra', 'description: d\nsource: s\ndocument: 20KB\nwaves: [{ count: 1, size: 1KB }]\nfonts: 3\n');
    expect(() => loadPageProfile('extra', dir)).toThrow(/has unknown key fonts/);
    write('broken', 'description: [\n');
    expect(() => loadPageProfile('broken', dir)).toThrow(
      /Cannot parse page profile ".*broken\.yaml:\d+:\d+" as YAML/,
    );
    expect(() => loadPageProfile('absent', dir)).toThrow(
      /no .*absent\.yaml \(page profiles: broken, extra, tiny\)/,
    );
  });
});
