/**
 * YAML file → validated, canonical Scenario. Every failure is a ScenarioError whose message names the
 * file (with line:column where the YAML has one), the key path, the expected form and the value.
 */
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { ScenarioError } from '../errors.js';
import { projectRoot } from '../paths.js';
import { RENAMED_KEYS, resolveScenario, scenarioInputSchema, type Scenario } from './schema.js';

export interface LoadedScenario {
  scenario: Scenario;
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

/** Parse and validate scenario text. `file` is used in messages only. */
export function parseScenario(text: string, file: string): Scenario {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const rel = displayPath(file);
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = lines.linePos(yamlError.pos[0]);
    throw new ScenarioError(
      `Cannot parse scenario "${rel}:${pos.line}:${pos.col}" as YAML: ${yamlError.message.split('\n')[0] ?? ''}`,
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ScenarioError(
      `Cannot parse scenario "${rel}" as the document must be a mapping of keys: current value is ${describeValue(raw)}`,
    );
  }
  const parsed = scenarioInputSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    const msgs = parsed.error.issues.map((i) => {
      const m = issueMessage(i, raw);
      return `${where(doc, lines, file, m.keyPath)}: ${m.text}`;
    });
    const first = msgs[0] ?? rel;
    const rest = msgs.length > 1 ? `\n  ${msgs.slice(1).join('\n  ')}` : '';
    throw new ScenarioError(`Cannot load scenario "${rel}": ${first}${rest}`);
  }
  const scenario = resolveScenario(parsed.data);
  const net = scenario.network;
  if (net.backend === 'none' && net.impairments.length > 0) {
    const key = `network.${net.impairments[0] ?? ''}`;
    throw new ScenarioError(
      `Cannot load scenario "${where(doc, lines, file, ['network', net.impairments[0] ?? ''])}": ${key} needs an emulation backend, but network.backend is "none"; set network.backend to auto, netem or linkem, or remove ${net.impairments.map((k) => `network.${k}`).join(', ')}`,
    );
  }
  return scenario;
}

export interface ScenarioOverrides {
  repetitions?: number | undefined;
  protocols?: Scenario['protocols'] | undefined;
  seed?: number | undefined;
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
  const scenario = parseScenario(text, file);
  if (overrides.repetitions !== undefined) scenario.repetitions = overrides.repetitions;
  if (overrides.protocols !== undefined) scenario.protocols = overrides.protocols;
  if (overrides.seed !== undefined) {
    scenario.seed = overrides.seed;
  }
  return { scenario, file, hash: scenarioHash(scenario) };
}

/** sha256 over the canonical JSON (keys sorted) of a scenario. */
export function scenarioHash(scenario: Scenario): string {
  return createHash('sha256').update(canonicalJson(scenario)).digest('hex');
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
