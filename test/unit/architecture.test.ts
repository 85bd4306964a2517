/**
 * The layers and the no-cycle rule (scripts/layers.mjs, enforced by eslint as h3bench/layers):
 * the rule itself on synthetic graphs, then the project as it is.
 */
import { describe, expect, it } from 'vitest';
import { cyclesOf, importsOf, layerOf, layerViolation, projectGraph } from '../../scripts/layers.mjs';

describe('layer rule', () => {
  it('places files in their layer; tests and scripts in none', () => {
    expect(layerOf('core/errors.ts')).toBe(0);
    expect(layerOf('link/linkem/process.ts')).toBe(1);
    expect(layerOf('harness/model/result.ts')).toBeLessThan(layerOf('harness/measure/analysis.ts'));
    expect(layerOf('harness/runner/run.ts')).toBeGreaterThan(layerOf('harness/report/index.ts'));
    expect(layerOf('test/unit/x.test.ts')).toBe(-1);
    expect(layerOf('scripts/layers.mjs')).toBe(-1);
  });

  it('allows imports downwards and within a layer, rejects them upwards', () => {
    expect(layerViolation('harness/runner/run.ts', 'link/index.ts')).toBeNull();
    expect(layerViolation('link/index.ts', 'link/probe.ts')).toBeNull();
    expect(layerViolation('link/index.ts', 'core/errors.ts')).toBeNull();
    expect(layerViolation('core/stats.ts', 'harness/runner/plan.ts')).toMatch(
      /^core\/ .* must not import harness\/runner\//,
    );
    expect(layerViolation('link/selftest.ts', 'harness/scenario/schema.ts')).toMatch(/must not import/);
    expect(layerViolation('harness/model/result.ts', 'harness/measure/analysis.ts')).toMatch(
      /must not import/,
    );
    expect(layerViolation('test/unit/a.test.ts', 'harness/cli/main.ts')).toBeNull();
  });

  it('reads every form of relative import, resolving .js to the .ts source', () => {
    const files = new Set(['a/b.ts', 'a/c.ts', 'a/d.ts', 'e.ts', 'a/f.ts']);
    const src = [
      "import { x } from './b.js';",
      "import type {\n  Y,\n} from './c.js';",
      "export { z } from '../e.js';",
      "const m = await import('./d.js');",
      "import 'node:fs';",
      "import './f.js';",
    ].join('\n');
    expect(importsOf('a/a.ts', src, (r) => files.has(r)).sort()).toEqual(
      ['a/b.ts', 'a/c.ts', 'a/d.ts', 'a/f.ts', 'e.ts'].sort(),
    );
  });

  it('finds cycles of any length, and self-imports, but not diamonds', () => {
    const g = new Map<string, string[]>([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['s', ['s']],
      ['x', ['y', 'z']],
      ['y', ['w']],
      ['z', ['w']],
      ['w', []],
    ]);
    expect(cyclesOf(g)).toEqual([['a', 'b', 'c'], ['s']]);
  });
});

describe('the project', () => {
  const graph = projectGraph();

  it('scans the sources', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('harness/runner/run.ts')).toContain('link/index.ts');
  });

  it('has no import that breaks the layers', () => {
    const bad: string[] = [];
    for (const [from, tos] of graph) {
      for (const to of tos) {
        const why = layerViolation(from, to);
        if (why !== null) bad.push(`${from} -> ${to}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(cyclesOf(graph)).toEqual([]);
  });
});
