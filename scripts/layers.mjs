// @ts-check
/**
 * The project's layers and the rule that keeps them one-way, shared by eslint (rule
 * `h3bench/layers`) and by test/unit/architecture.test.ts.
 *
 * A file may import from its own layer and from the layers listed before it, never from a later
 * one; and no set of files may import each other in a cycle (type-only imports count too: a cycle
 * of types is still two modules that cannot be understood apart). Tests import anything.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (the directory above scripts/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Layers, lowest first: each entry is a directory prefix (relative to the root, with a trailing
 * slash) and a short description for error messages.
 */
export const LAYERS = /** @type {const} */ ([
  ['core/', 'the leaf core (errors, units, PRNG, statistics, profiles, transport settings)'],
  ['link/', 'the emulated link'],
  ['harness/scenario/', 'scenario schema and loading'],
  ['harness/model/', 'the data model (records, result file, schemas)'],
  ['harness/measure/', 'analysis of records'],
  ['harness/proto/', 'protocol engines'],
  ['harness/workload/', 'workloads'],
  ['harness/report/', 'reports'],
  ['harness/compare/', 'the regression gate'],
  ['harness/runner/', 'the orchestrator and its child processes'],
  ['harness/cli/', 'the command line'],
  ['bench/', 'benchmarks'],
]);

/**
 * Index of the layer of a root-relative path, or -1 when it belongs to none (tests, scripts).
 * @param {string} rel
 */
export function layerOf(rel) {
  const p = rel.split(path.sep).join('/');
  return LAYERS.findIndex(([prefix]) => p.startsWith(prefix));
}

/**
 * Why importing `toRel` from `fromRel` breaks the layers, or null when it does not.
 * @param {string} fromRel
 * @param {string} toRel
 */
export function layerViolation(fromRel, toRel) {
  const from = layerOf(fromRel);
  const to = layerOf(toRel);
  if (from < 0 || to < 0 || to <= from) return null;
  const [fromPrefix, fromWhat] = LAYERS[from] ?? ['', ''];
  const [toPrefix, toWhat] = LAYERS[to] ?? ['', ''];
  return `${fromPrefix} (${fromWhat}) must not import ${toPrefix} (${toWhat}): layers depend one way (README.md, "Layers")`;
}

const IMPORT_RE =
  /(?:^|[^.\w])(?:import|export)\s[^'"]*?from\s*'(\.[^']+)'|(?:^|[^.\w])import\s*\(\s*'(\.[^']+)'\s*\)|(?:^|\n)import\s*'(\.[^']+)'/g;

/**
 * Root-relative paths of the project files a source imports (relative specifiers only).
 * @param {string} rel root-relative path of the importing file
 * @param {string} source its text
 * @param {(rel: string) => boolean} [exists]
 */
export function importsOf(rel, source, exists = (r) => existsSync(path.join(ROOT, r))) {
  /** @type {string[]} */
  const out = [];
  for (const m of source.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec === undefined) continue;
    const target = resolveSpecifier(rel, spec, exists);
    if (target !== null) out.push(target);
  }
  return out;
}

/**
 * @param {string} fromRel
 * @param {string} spec
 * @param {(rel: string) => boolean} exists
 */
export function resolveSpecifier(fromRel, spec, exists) {
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(fromRel), spec));
  for (const candidate of [joined.replace(/\.js$/, '.ts'), joined, `${joined}.ts`]) {
    if (exists(candidate)) return candidate;
  }
  return null;
}

/** Directories scanned for the import graph (tests are left out: they import anything). */
const SCANNED = ['core', 'link', 'harness', 'bench'];

/** @param {string} dir root-relative */
function sourcesUnder(dir) {
  /** @type {string[]} */
  const out = [];
  const abs = path.join(ROOT, dir);
  if (!existsSync(abs)) return out;
  for (const e of readdirSync(abs, { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'build') out.push(...sourcesUnder(rel));
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
      out.push(rel);
    }
  }
  return out;
}

/** The import graph of the project's sources: file → files it imports (root-relative). */
export function projectGraph() {
  /** @type {Map<string, string[]>} */
  const graph = new Map();
  for (const dir of SCANNED) {
    for (const rel of sourcesUnder(dir)) {
      graph.set(rel, importsOf(rel, readFileSync(path.join(ROOT, rel), 'utf8')));
    }
  }
  return graph;
}

/**
 * Strongly connected components with more than one file, or a file importing itself (Tarjan):
 * each is a cycle. Returned sorted, each component sorted.
 * @param {ReadonlyMap<string, readonly string[]>} graph
 */
export function cyclesOf(graph) {
  let next = 0;
  /** @type {Map<string, number>} */
  const index = new Map();
  /** @type {Map<string, number>} */
  const low = new Map();
  /** @type {string[]} */
  const stack = [];
  const onStack = new Set();
  /** @type {string[][]} */
  const out = [];
  /** @param {string} v */
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) === index.get(v)) {
      /** @type {string[]} */
      const scc = [];
      for (;;) {
        const w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        scc.push(w);
        if (w === v) break;
      }
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''));
}

/** @type {Map<string, string[]> | null} */
let cycleMembers = null;

/** File → the other files of its cycle, for the project as it is on disk (computed once per process). */
function cycleIndex() {
  if (cycleMembers === null) {
    cycleMembers = new Map();
    for (const scc of cyclesOf(projectGraph())) for (const f of scc) cycleMembers.set(f, scc);
  }
  return cycleMembers;
}

/** @type {import('eslint').Rule.RuleModule} */
const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'Imports follow the layers one way and make no cycle' },
    schema: [],
  },
  create(context) {
    const fromRel = path.relative(ROOT, context.filename).split(path.sep).join('/');
    if (layerOf(fromRel) < 0) return {};
    /** @param {import('estree').Node} node @param {unknown} value */
    const check = (node, value) => {
      if (typeof value !== 'string' || !value.startsWith('.')) return;
      const toRel = resolveSpecifier(fromRel, value, (r) => existsSync(path.join(ROOT, r)));
      if (toRel === null) return;
      const bad = layerViolation(fromRel, toRel);
      if (bad !== null) context.report({ node, message: bad });
      const scc = cycleIndex().get(fromRel);
      if (scc?.includes(toRel)) {
        context.report({ node, message: `import cycle: ${scc.join(' <-> ')}` });
      }
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => check(node, node.source?.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => check(node, node.source.type === 'Literal' ? node.source.value : undefined),
    };
  },
};

export const plugin = { rules: { layers: rule } };
