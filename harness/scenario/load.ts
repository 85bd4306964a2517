/**
 * YAML file → validated, canonical Scenario. Every failure is a ScenarioError whose message names the
 * file (with line:column where the YAML has one), the key path, the expected form and the value.
 */
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isNode, isPair, isScalar, visit, type Document } from 'yaml';
import { z as zod, type z } from 'zod';
import { H3BenchError, ScenarioError, UsageError } from '../../core/errors.js';
import { projectRoot } from '../../core/paths.js';
import { networkInputSchema } from '../../core/network.js';
import {
  MIN_ADAPTIVE_REPETITIONS,
  RENAMED_KEYS,
  resolveScenario,
  type AdaptiveRepetitions,
  scenarioInputSchema,
  type Scenario,
  type SweepAxis,
  type SweepSpec,
  gridCell,
} from './schema.js';
import { parseDurationMs, parsePercent, parseRateKbit, parseSizeBytes } from '../../core/units.js';

export interface LoadedScenario {
  /** The scenario as written (for a sweep: the base, without any swept value applied). */
  scenario: Scenario;
  /** What runs: one scenario, or one per sweep value (same order as scenario.sweep.values). */
  points: Scenario[];
  /** Absolute path of the YAML file. */
  file: string;
  /** sha256 of the canonical scenario JSON (after defaults and CLI overrides). */
  hash: string;
}

/** A bare name (`smoke`) resolves to `scenarios/<name>.yaml`; anything with a slash or `.yaml` is a path. */
export function resolveScenarioPath(nameOrPath: string): string {
  if (/^[a-z0-9][a-z0-9._-]*$/.test(nameOrPath) && !/\.ya?ml$/.test(nameOrPath)) {
    return path.join(projectRoot(), 'scenarios', `${nameOrPath}.yaml`);
  }
  return path.resolve(nameOrPath);
}

/** A path as the user would type it: relative when under the working directory, else absolute. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  const s = JSON.stringify(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function where(doc: Document, lines: LineCounter, file: string, keyPath: readonly PropertyKey[]): string {
  const rel = displayPath(file);
  for (let n = keyPath.length; n >= 0; n--) {
    const node: unknown = doc.getIn(keyPath.slice(0, n) as (string | number)[], true);
    if (isNode(node) && node.range) {
      const pos = lines.linePos(node.range[0]);
      return `${rel}:${pos.line}:${pos.col}`;
    }
  }
  return rel;
}

function valueAt(root: unknown, keyPath: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const k of keyPath) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

/** Render one zod issue in the project's message style. */
function issueMessage(issue: z.core.$ZodIssue, raw: unknown): { keyPath: PropertyKey[]; text: string } {
  const keyPath = issue.path;
  const dotted = keyPath.length === 0 ? '(top level)' : keyPath.map(String).join('.');
  const value = valueAt(raw, keyPath);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const parts = issue.keys.map((k) => {
        const hint = RENAMED_KEYS[k];
        const full = keyPath.length ? `${dotted}.${k}` : k;
        return hint ? `unsupported key ${full}, ${hint}` : `unknown key ${full}`;
      });
      return { keyPath: [...keyPath, issue.keys[0] ?? ''], text: parts.join('; ') };
    }
    case 'invalid_type':
      if (value === undefined) return { keyPath, text: `${dotted} is required (expected ${issue.expected})` };
      return {
        keyPath,
        text: `${dotted} must be ${issue.expected}: current value is ${describeValue(value)}`,
      };
    case 'invalid_value':
      return {
        keyPath,
        text: `${dotted} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}: current value is ${describeValue(value)}`,
      };
    case 'too_small':
    case 'too_big': {
      const op = issue.code === 'too_small' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
      const what = issue.origin === 'array' ? 'have a length' : 'be';
      return {
        keyPath,
        text: `${dotted} must ${what} ${op} ${String(issue.code === 'too_small' ? issue.minimum : issue.maximum)}: current value is ${describeValue(value)}`,
      };
    }
    case 'invalid_union': {
      // Report the branch that got furthest; otherwise list the accepted forms.
      return { keyPath, text: `${dotted} has an unsupported form: current value is ${describeValue(value)}` };
    }
    default:
      return { keyPath, text: `${dotted} ${issue.message}: current value is ${describeValue(value)}` };
  }
}

interface YamlFile {
  doc: Document;
  lines: LineCounter;
  raw: Record<string, unknown>;
}

/**
 * Most alias expansions a scenario or profile may use. A few anchors and aliases are normal; a
 * document whose aliases nest ("billion laughs") would expand to gigabytes and is refused.
 */
export const MAX_ALIAS_COUNT = 100;

function parseYamlMapping(text: string, file: string, what: string): YamlFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const rel = displayPath(file);
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = lines.linePos(yamlError.pos[0]);
    const swept = yamlError.code === 'DUPLICATE_KEY' ? keyPathAt(doc, yamlError.pos[0]) : null;
    if (swept?.[0] === 'sweep' && swept[1] === 'grid') {
      throw new ScenarioError(
        `Cannot parse ${what} "${rel}:${pos.line}:${pos.col}" as YAML: ${swept.join('.')} is given twice: a key swept twice (each key of sweep.grid once)`,
      );
    }
    throw new ScenarioError(
      `Cannot parse ${what} "${rel}:${pos.line}:${pos.col}" as YAML: ${yamlError.message.split('\n')[0] ?? ''}`,
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const msg = (err as Error).message;
    throw new ScenarioError(
      /excessive alias count/i.test(msg)
        ? `Cannot parse ${what} "${rel}" as YAML: its aliases expand too much (more than ${MAX_ALIAS_COUNT} alias expansions, as in a "billion laughs" document): ${msg}`
        : `Cannot parse ${what} "${rel}" as YAML: ${msg}`,
      { cause: err },
    );
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ScenarioError(
      `Cannot parse ${what} "${rel}" as the document must be a mapping of keys: current value is ${describeValue(raw)}`,
    );
  }
  return { doc, lines, raw: raw as Record<string, unknown> };
}

/** The key path of the mapping key that starts at `offset` (a YAML error's position), or null. */
function keyPathAt(doc: Document, offset: number): string[] | null {
  let found: string[] | null = null;
  visit(doc, {
    Pair(_, pair, ancestors) {
      if (!isNode(pair.key) || pair.key.range?.[0] !== offset) return undefined;
      const keys = ancestors.filter(isPair).map((p) => String(isScalar(p.key) ? p.key.value : p.key));
      found = [...keys, String(isScalar(pair.key) ? pair.key.value : pair.key)];
      return visit.BREAK;
    },
  });
  return found;
}

/**
 * The issues in the project's style. `locate` maps an issue's key path to the node to point at (a
 * sweep point's issue with a swept key points at the swept value).
 */
function zodMessages(
  issues: readonly z.core.$ZodIssue[],
  y: YamlFile,
  file: string,
  locate: (keyPath: PropertyKey[]) => PropertyKey[] = (k) => k,
): string {
  const msgs = issues.map((i) => {
    const m = issueMessage(i, y.raw);
    return `${where(y.doc, y.lines, file, locate(m.keyPath))}: ${m.text}`;
  });
  return `${msgs[0] ?? ''}${msgs.length > 1 ? `\n  ${msgs.slice(1).join('\n  ')}` : ''}`;
}

const PROFILE_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const profileFileSchema = zod
  .object({
    description: zod.string().min(1),
    source: zod.string().min(1),
    network: zod.record(zod.string(), zod.unknown()),
  })
  .strict();

/** A network profile: `scenarios/profiles/<name>.yaml`, the keys of a scenario's `network` section. */
export interface NetworkProfileFile {
  name: string;
  file: string;
  description: string;
  /** Where the numbers come from. */
  source: string;
  /** Raw `network` keys (human units), merged under a scenario's own `network` keys. */
  network: Record<string, unknown>;
}

export function profilesDir(): string {
  return path.join(projectRoot(), 'scenarios', 'profiles');
}

/** Load and check a profile by name. Errors name the profile file and key. */
export function loadProfile(name: string): NetworkProfileFile {
  if (!PROFILE_NAME_RE.test(name)) {
    throw new ScenarioError(
      `Cannot load network profile "${name}" as a profile name must match ${String(PROFILE_NAME_RE)}`,
    );
  }
  const file = path.join(profilesDir(), `${name}.yaml`);
  if (!existsSync(file)) {
    throw new ScenarioError(
      `Cannot load network profile "${name}" as ${displayPath(file)} does not exist (run "h3bench list" to see the profiles)`,
    );
  }
  const y = parseYamlMapping(readFileSync(file, 'utf8'), file, 'network profile');
  const parsed = profileFileSchema.safeParse(y.raw, { reportInput: true });
  if (!parsed.success)
    throw new ScenarioError(
      `Cannot load network profile "${displayPath(file)}": ${zodMessages(parsed.error.issues, y, file)}`,
    );
  // The profile alone must be a valid network section (checked with an emulation backend).
  const alone = networkInputSchema.safeParse(
    { backend: 'auto', ...parsed.data.network },
    { reportInput: true },
  );
  if (!alone.success) {
    const issues = alone.error.issues.map((i) => ({ ...i, path: ['network', ...i.path] }));
    throw new ScenarioError(
      `Cannot load network profile "${displayPath(file)}": ${zodMessages(issues, y, file)}`,
    );
  }
  return { name, file, ...parsed.data };
}

/**
 * Parse and validate scenario text into its base scenario and, for a `sweep`, one scenario per swept
 * value (each validated as if the value had been written in the file). `file` is used in messages.
 */
export function parseScenarioPoints(
  text: string,
  file: string,
  opts: { profile?: string | undefined } = {},
): { scenario: Scenario; points: Scenario[] } {
  try {
    return parseScenarioPointsOrThrow(text, file, opts);
  } catch (err) {
    // Whatever fails while reading a scenario is the scenario's fault as far as the user can act:
    // exit 2 with the file, never "internal error".
    if (err instanceof H3BenchError) throw err;
    throw new ScenarioError(`Cannot load scenario "${displayPath(file)}": ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function parseScenarioPointsOrThrow(
  text: string,
  file: string,
  opts: { profile?: string | undefined },
): { scenario: Scenario; points: Scenario[] } {
  const y = parseYamlMapping(text, file, 'scenario');
  if (opts.profile !== undefined) {
    // --profile NAME: the profile's link replaces the scenario's; backend, mtu and seed are kept
    // (a loopback scenario gets backend auto).
    const own = (y.raw.network ?? {}) as Record<string, unknown>;
    const backend = own.backend === undefined || own.backend === 'none' ? 'auto' : own.backend;
    const kept = Object.fromEntries(Object.entries(own).filter(([k]) => k === 'mtu' || k === 'seed'));
    y.raw.network = { backend, ...kept, profile: opts.profile };
  }
  const { doc, lines } = y;
  const rel = displayPath(file);
  // `network.profile: NAME` pulls in scenarios/profiles/NAME.yaml; the scenario's own keys override.
  let profileName: string | null = null;
  const net0 = y.raw.network;
  if (net0 !== null && typeof net0 === 'object' && !Array.isArray(net0) && 'profile' in net0) {
    const { profile, ...own } = net0 as Record<string, unknown>;
    if (typeof profile !== 'string') {
      throw new ScenarioError(
        `Cannot load scenario "${where(doc, lines, file, ['network', 'profile'])}": network.profile must be a profile name (a file in scenarios/profiles/): current value is ${describeValue(profile)}`,
      );
    }
    const p = loadProfile(profile);
    profileName = p.name;
    y.raw.network = { ...p.network, ...own };
  }
  const { sweep: rawSweep, ...raw } = y.raw;
  const validate = (
    input: Record<string, unknown>,
    context: string,
    swept: readonly SweepSetting[] = [],
  ): Scenario => {
    const parsed = scenarioInputSchema.safeParse(input, { reportInput: true });
    if (!parsed.success) {
      // A sweep point's values are those of its input; an issue with a swept key points at the value.
      const locate = (keyPath: PropertyKey[]): PropertyKey[] => {
        const dotted = keyPath.map(String).join('.');
        const x = swept.find((s) => dotted === s.key || dotted.startsWith(`${s.key}.`));
        return x ? ['sweep', ...x.at] : keyPath;
      };
      throw new ScenarioError(
        `Cannot load scenario "${rel}"${context}: ${zodMessages(parsed.error.issues, { ...y, raw: input }, file, locate)}`,
      );
    }
    const scenario = resolveScenario(parsed.data, profileName);
    const net = scenario.network;
    if (net.backend === 'none' && net.impairments.length > 0) {
      const key = `network.${net.impairments[0] ?? ''}`;
      throw new ScenarioError(
        `Cannot load scenario "${where(doc, lines, file, ['network', net.impairments[0] ?? ''])}"${context}: ${key} needs an emulation backend, but network.backend is "none"; set network.backend to auto, netem or linkem, or remove ${net.impairments.map((k) => `network.${k}`).join(', ')}`,
      );
    }
    return scenario;
  };
  const scenario = validate(raw, '');
  if (rawSweep === undefined) return { scenario, points: [scenario] };
  const sweep = parseSweep(rawSweep, (keyPath) => where(doc, lines, file, ['sweep', ...keyPath]));
  scenario.sweep = sweep;
  const points = sweepSettings(sweep).map((settings, i) => {
    const input = structuredClone(raw);
    for (const x of settings) setPath(input, x.key.split('.'), x.label);
    const named = settings.map((x) => `${x.key} = ${JSON.stringify(x.label)}`).join(', ');
    const point = validate(
      input,
      ` at ${sweep.grid ? 'grid cell' : 'sweep value'} ${i} (${named})`,
      settings,
    );
    point.sweep = sweep;
    return point;
  });
  return { scenario, points };
}

/** What one sweep point sets: each swept key, its value as written and where that is in the file. */
interface SweepSetting {
  key: string;
  label: string | number;
  /** Key path of the value under `sweep` (["values", 2] or ["grid", "network.rtt", 1]). */
  at: (string | number)[];
}

/** The settings of every point, in point order (a grid: row-major, the second key varying fastest). */
function sweepSettings(sweep: SweepSpec): SweepSetting[][] {
  const g = sweep.grid;
  if (!g) return sweep.labels.map((label, i) => [{ key: sweep.key, label, at: ['values', i] }]);
  return sweep.values.map((_, i) => {
    const { row, column } = gridCell(g, i);
    return [
      { key: g.rows.key, label: g.rows.labels[row] ?? '', at: ['grid', g.rows.key, row] },
      { key: g.columns.key, label: g.columns.labels[column] ?? '', at: ['grid', g.columns.key, column] },
    ];
  });
}

/** Parse and validate scenario text (the base scenario of a sweep). `file` is used in messages only. */
export function parseScenario(
  text: string,
  file: string,
  opts: { profile?: string | undefined } = {},
): Scenario {
  return parseScenarioPoints(text, file, opts).scenario;
}

/** Keys a sweep may not vary: they identify the comparison rather than parameterise it. */
const UNSWEEPABLE = new Set(['name', 'description', 'protocols', 'sweep', 'report']);

/** Most values of one swept key. */
export const MAX_SWEEP_VALUES = 50;

/**
 * Most cells of a grid. Every cell is a sweep point run once per protocol and repetition: at the 5
 * repetitions a paired verdict needs, 3 protocols × 100 cells are already 1500 runs, the reports'
 * tables have a row per protocol × cell, and a heatmap whose cells carry their values stays legible
 * up to about 10 × 10. A larger study is better split into several scenarios.
 */
export const MAX_GRID_CELLS = 100;

const SWEEP_FORMS =
  'a mapping {key, values} (one key, e.g. {key: network.loss, values: [0%, 1%]}) or {grid: {KEY: [values], KEY: [values]}} (two keys, e.g. {grid: {network.rate: [1mbit, 10mbit], network.rtt: [20ms, 200ms]}})';

function parseSweep(value: unknown, at: (keyPath: string[]) => string): SweepSpec {
  const fail = (keyPath: string[], text: string): never => {
    throw new ScenarioError(`Cannot load scenario "${at(keyPath)}": ${text}`);
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail([], `sweep must be ${SWEEP_FORMS}: current value is ${describeValue(value)}`);
  }
  if ('grid' in value) return parseGrid(value, fail);
  const { key, values, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) fail([extra], `unknown key sweep.${extra}`);
  checkSweepKey(key, () =>
    fail(
      ['key'],
      `sweep.key must be the dotted path of a scalar key such as "network.loss" or "workload.concurrency" (not name, description, protocols, report): current value is ${describeValue(key)}`,
    ),
  );
  return parseAxis(key, values, {
    name: 'sweep.values',
    path: ['values'],
    distinct: false,
    fail,
  });
}

/** Refuse (with `bad`) anything but the dotted path of a key a sweep may vary. */
function checkSweepKey(key: unknown, bad: () => never): asserts key is string {
  if (
    typeof key !== 'string' ||
    !/^[a-zA-Z]+(\.[a-zA-Z]+)*$/.test(key) ||
    UNSWEEPABLE.has(key.split('.')[0] ?? '')
  ) {
    bad();
  }
}

/**
 * One swept key's values: 2 to MAX_SWEEP_VALUES scalars of one unit (with `distinct`, no value
 * twice). `name` and `path` say where they are in messages.
 */
function parseAxis(
  key: string,
  values: unknown,
  opts: {
    name: string;
    path: string[];
    distinct: boolean;
    fail: (keyPath: string[], text: string) => never;
  },
): SweepAxis {
  const { name, path: at, fail } = opts;
  if (!Array.isArray(values) || values.length < 2 || values.length > MAX_SWEEP_VALUES) {
    return fail(
      at,
      `${name} must be a list of 2 to ${MAX_SWEEP_VALUES} values: current value is ${describeValue(values)}`,
    );
  }
  const parsed = values.map((v: unknown, i) => {
    const n = sweepNumber(v);
    if (n === null)
      fail(
        [...at, String(i)],
        `${name}.${i} must be a number or a value with a unit ("1%", "50ms", "10mbit", "20KB"): current value is ${describeValue(v)}`,
      );
    return n as { value: number; unit: string };
  });
  const units = new Set(parsed.map((p) => p.unit));
  if (units.size > 1)
    fail(at, `${name} must all have the same unit: current units are ${[...units].join(', ')}`);
  if (opts.distinct) {
    parsed.forEach((p, i) => {
      const first = parsed.findIndex((q) => q.value === p.value);
      if (first !== i) {
        fail(
          [...at, String(i)],
          `${name}.${i} repeats ${name}.${first} (each value once, or two cells would be the same): current value is ${describeValue(values[i])}`,
        );
      }
    });
  }
  return {
    key,
    unit: parsed[0]?.unit ?? '',
    values: parsed.map((p) => p.value),
    labels: values as (string | number)[],
  };
}

/** `sweep: {grid: {KEY1: [...], KEY2: [...]}}`: two keys, every combination (see SweepSpec). */
function parseGrid(
  value: Record<string, unknown>,
  fail: (keyPath: string[], text: string) => never,
): SweepSpec {
  const { grid, ...rest } = value;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) {
    fail(
      [extra],
      extra === 'key' || extra === 'values'
        ? `sweep has either {key, values} (one key) or grid (two keys), not both: remove sweep.${extra} or sweep.grid`
        : `unknown key sweep.${extra}`,
    );
  }
  if (grid === null || typeof grid !== 'object' || Array.isArray(grid)) {
    return fail(
      ['grid'],
      `sweep.grid must be a mapping of two keys to their values, e.g. {network.rate: [1mbit, 10mbit], network.rtt: [20ms, 200ms]}: current value is ${describeValue(grid)}`,
    );
  }
  const entries = Object.entries(grid as Record<string, unknown>);
  const keys = entries.map(([k]) => k);
  if (entries.length !== 2) {
    fail(
      entries.length > 2 ? ['grid', keys[2] ?? ''] : ['grid'],
      `sweep.grid must have exactly two keys (rows, then columns)${entries.length < 2 ? '; for one key write sweep: {key, values}' : '; sweep more keys in separate scenarios'}: current keys are ${keys.length ? keys.join(', ') : 'none'}`,
    );
  }
  const axes = entries.map(([key, values]) => {
    checkSweepKey(key, () =>
      fail(
        ['grid', key],
        `sweep.grid keys must be dotted paths of scalar keys such as "network.rate" or "workload.concurrency" (not name, description, protocols, report): current key is ${describeValue(key)}`,
      ),
    );
    return parseAxis(key, values, {
      name: `sweep.grid.${key}`,
      path: ['grid', key],
      distinct: true,
      fail,
    });
  });
  const [rows, columns] = axes as [SweepAxis, SweepAxis];
  const [outer, inner] = rows.key.length <= columns.key.length ? [rows, columns] : [columns, rows];
  if (inner.key.startsWith(`${outer.key}.`)) {
    fail(
      ['grid', inner.key],
      `sweep.grid sweeps ${inner.key} inside ${outer.key}: a key swept twice (sweep two separate keys)`,
    );
  }
  const cells = rows.values.length * columns.values.length;
  if (cells > MAX_GRID_CELLS) {
    fail(
      ['grid'],
      `sweep.grid must have at most ${MAX_GRID_CELLS} cells (${rows.key} values × ${columns.key} values; every cell runs every protocol and repetition): current grid is ${rows.values.length} × ${columns.values.length} = ${cells} cells`,
    );
  }
  const labels = Array.from({ length: cells }, (_, i) => {
    const { row, column } = gridCell({ columns }, i);
    return `${String(rows.labels[row])} × ${String(columns.labels[column])}`;
  });
  return {
    key: `${rows.key} × ${columns.key}`,
    unit: '',
    values: labels.map((_, i) => i),
    labels,
    grid: { rows, columns },
  };
}

/** A sweep value as a number in canonical units, or null if it is not a scalar with a known unit. */
function sweepNumber(v: unknown): { value: number; unit: string } | null {
  if (typeof v === 'number' && Number.isFinite(v)) return { value: v, unit: '' };
  if (typeof v === 'boolean') return { value: v ? 1 : 0, unit: '' };
  const parsers: [(x: unknown) => number, string][] = [
    [parsePercent, '%'],
    [parseDurationMs, 'ms'],
    [parseRateKbit, 'kbit/s'],
    [parseSizeBytes, 'B'],
  ];
  for (const [parse, unit] of parsers) {
    try {
      return { value: parse(v), unit };
    } catch {
      /* try the next unit */
    }
  }
  return null;
}

function setPath(obj: Record<string, unknown>, keys: string[], value: unknown): void {
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys.at(-1) ?? ''] = value;
}

/** Adaptive keys given on the command line (undefined: not given). */
export type AdaptiveOverrides = { [K in keyof AdaptiveRepetitions]?: AdaptiveRepetitions[K] | undefined };

export interface ScenarioOverrides {
  /** A fixed count: replaces the scenario's repetitions, adaptive ones included. */
  repetitions?: number | undefined;
  /**
   * Adaptive repetitions (--min-repetitions, --max-repetitions, --target, --budget): each given key
   * replaces the scenario's; a scenario with a fixed count becomes adaptive with
   * ADAPTIVE_OVERRIDE_DEFAULTS for the keys not given.
   */
  adaptive?: AdaptiveOverrides | undefined;
  protocols?: Scenario['protocols'] | undefined;
  seed?: number | undefined;
  /** Replace the scenario's link with this network profile (scenarios/profiles/NAME.yaml). */
  profile?: string | undefined;
  /** Replace `stacks.h3`, the HTTP/3 engine of h3bench's own endpoints. */
  h3Stack?: Scenario['stacks']['h3'] | undefined;
  /** Replace `stacks.client` (who requests) and `stacks.server` (who serves). */
  clientStack?: Scenario['stacks']['client'] | undefined;
  serverStack?: Scenario['stacks']['server'] | undefined;
}

/** Adaptive keys a fixed-count scenario gets when only some adaptive flags are given. */
export const ADAPTIVE_OVERRIDE_DEFAULTS: AdaptiveRepetitions = {
  min: MIN_ADAPTIVE_REPETITIONS,
  max: 30,
  targetPct: 10,
  budgetMs: null,
};

/** The scenario's adaptive repetitions with the overrides applied; undefined when neither has any. */
function withAdaptiveOverrides(
  current: AdaptiveRepetitions | undefined,
  over: AdaptiveOverrides | undefined,
): AdaptiveRepetitions | undefined {
  const given: Partial<AdaptiveRepetitions> = {};
  if (over?.min !== undefined) given.min = over.min;
  if (over?.max !== undefined) given.max = over.max;
  if (over?.targetPct !== undefined) given.targetPct = over.targetPct;
  if (over?.budgetMs !== undefined) given.budgetMs = over.budgetMs;
  if (Object.keys(given).length === 0) return current;
  const a: AdaptiveRepetitions = { ...(current ?? ADAPTIVE_OVERRIDE_DEFAULTS), ...given };
  if (a.max < a.min) {
    throw new UsageError(
      `--max-repetitions: value error: must not be less than the minimum repetitions (${a.min}): current value is ${a.max}`,
    );
  }
  return a;
}

/** Load a scenario by name or path, apply CLI overrides, and hash the result. */
export function loadScenario(nameOrPath: string, overrides: ScenarioOverrides = {}): LoadedScenario {
  const file = resolveScenarioPath(nameOrPath);
  if (!existsSync(file)) {
    throw new ScenarioError(
      `Cannot load scenario "${nameOrPath}" as the file does not exist: looked for ${displayPath(file)} (run "h3bench list" or pass a path to a .yaml file)`,
    );
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ScenarioError(`Cannot read scenario "${file}": ${(err as Error).message}`, { cause: err });
  }
  const { scenario, points } = parseScenarioPoints(text, file, { profile: overrides.profile });
  for (const s of new Set([scenario, ...points])) {
    if (overrides.repetitions !== undefined) {
      s.repetitions = overrides.repetitions;
      delete s.adaptive;
    }
    const adaptive = withAdaptiveOverrides(s.adaptive, overrides.adaptive);
    if (adaptive) {
      s.adaptive = adaptive;
      s.repetitions = adaptive.max;
    }
    if (overrides.protocols !== undefined) s.protocols = overrides.protocols;
    if (overrides.seed !== undefined) s.seed = overrides.seed;
    if (overrides.h3Stack !== undefined) s.stacks = { ...s.stacks, h3: overrides.h3Stack };
    if (overrides.clientStack !== undefined) s.stacks = { ...s.stacks, client: overrides.clientStack };
    if (overrides.serverStack !== undefined) s.stacks = { ...s.stacks, server: overrides.serverStack };
  }
  return { scenario, points, file, hash: scenarioHash(scenario) };
}

/** sha256 over the canonical JSON (keys sorted) of a scenario. */
/**
 * sha256 of what the scenario measures: the resolved scenario without `report` (which files are
 * written changes nothing that is measured, so it must not make two results look different).
 */
export function scenarioHash(scenario: Scenario): string {
  const { report: _report, ...measured } = scenario;
  return createHash('sha256').update(canonicalJson(measured)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}
