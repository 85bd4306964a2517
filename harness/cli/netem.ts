/**
 * `h3bench netem selftest <profile|scenario>` and `h3bench netem shell <profile|scenario> -- CMD…`.
 * What they emulate: a scenario (name or file) or a network profile (a name in scenarios/profiles/,
 * or a YAML file with a top-level `network:` section), see loadNetworkTarget.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { ExitCode, ScenarioError, UsageError } from '../../core/errors.js';
import { loadScenario, parseScenario, profilesDir, resolveScenarioPath } from '../scenario/load.js';
import { BACKENDS, type Backend } from '../../core/network.js';
import type { Scenario } from '../scenario/schema.js';
import { formatChecks, selftest } from '../../link/selftest.js';
import { runShell, splitCommand } from '../../link/shell.js';
import { intFlag, onePositional, parse } from './args.js';

export const NETEM_HELP = `Usage: h3bench netem selftest <profile | scenario> [--quick] [--backend B] [--json]
       h3bench netem shell <profile | scenario> [--server 'CMD'] [--server-wait MS] [--backend B] -- CMD [ARG...]

selftest  brings the profile's link up and measures it: RTT p50/p99 vs configured, loss per
          direction with a 95% Wilson interval (and mean burst length for bursty models), UDP and
          TCP goodput vs the rate, queueing delay at saturation. Prints a table; exit 1 when a
          check is outside its tolerance (tolerances: scenarios/README.md, section network).
shell     runs CMD in the client namespace with the server namespace reachable; the server's
          address is exported as H3BENCH_SERVER (198.18.0.2), the client's as H3BENCH_CLIENT.
          --server 'CMD' first starts CMD in the server namespace (split into words without a
          shell: quotes and backslashes only) and ends it when the client command exits. The link
          stays up until CMD exits; its exit code is h3bench's.

A scenario is a name (scenarios/<name>.yaml) or a path; a profile is a name in scenarios/profiles/
or a YAML file with a top-level "network:" section (backend auto unless it sets one).

Options:
  --quick              selftest: shorter measurements (about 15 s)
  --backend B          override network.backend (auto, netem, linkem)
  --json               selftest: print the result as JSON
  --server 'CMD'       shell: command for the server namespace
  --server-wait MS     shell: wait after starting the server command (default 300)
  -h, --help           show this help

Exit codes: 0 ok (shell: CMD's code), 1 a selftest check failed, 2 bad input, 3 missing
privilege/tool, 127 unsupported profile feature on this backend, 130 interrupted.`;

/**
 * What `selftest` and `shell` emulate: a scenario (name or file), a network profile
 * (scenarios/profiles/NAME.yaml by name, or any YAML file with a top-level `network:` and no
 * `workload:`). A profile without a `backend` gets `auto`.
 */
export async function loadNetworkTarget(nameOrPath: string): Promise<Scenario> {
  const bare = /^[a-z0-9][a-z0-9._-]*$/.test(nameOrPath) && !/\.ya?ml$/.test(nameOrPath);
  const file = resolveScenarioPath(nameOrPath);
  if (bare && !existsSync(file) && existsSync(path.join(profilesDir(), `${nameOrPath}.yaml`))) {
    const text = JSON.stringify({
      name: nameOrPath,
      network: { backend: 'auto', profile: nameOrPath },
      workload: { type: 'multiplex' },
    });
    return parseScenario(text, path.join(profilesDir(), `${nameOrPath}.yaml`));
  }
  let raw: unknown;
  try {
    raw = parseDocument(await readFile(file, 'utf8')).toJS();
  } catch {
    return loadScenario(nameOrPath).scenario; // reports a missing or unreadable file in the usual way
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || 'workload' in raw) {
    return loadScenario(nameOrPath).scenario;
  }
  const network: unknown = (raw as Record<string, unknown>).network;
  if (network === null || typeof network !== 'object' || Array.isArray(network)) {
    throw new ScenarioError(
      `Cannot load profile "${nameOrPath}" as it has no top-level network: mapping (a profile is "network:" with the keys of scenarios/README.md)`,
    );
  }
  const name =
    path
      .basename(file)
      .replace(/\.ya?ml$/, '')
      .toLowerCase()
      .replace(/[^a-z0-9._-]/g, '-') || 'profile';
  const text = JSON.stringify({
    name,
    network: { backend: 'auto', ...network },
    workload: { type: 'multiplex' },
  });
  return parseScenario(text, file);
}

function backendFlag(value: string | undefined): Backend | undefined {
  if (value === undefined) return undefined;
  if (!(BACKENDS as readonly string[]).includes(value) || value === 'none') {
    throw new UsageError(
      `--backend: value error: must be one of auto, netem, linkem: current value is "${value}"`,
    );
  }
  return value as Backend;
}

function withBackend(s: Scenario, backend: Backend | undefined): Scenario {
  if (backend === undefined) return s;
  return { ...s, network: { ...s.network, backend } };
}

function requireEmulation(s: Scenario, command: string): void {
  if (s.network.backend === 'none') {
    throw new UsageError(
      `h3bench netem ${command}: scenario "${s.name}" has network.backend none: nothing to emulate (pass --backend auto, or use a profile with a backend)`,
    );
  }
}

async function selftestCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse('netem selftest', argv, {
    quick: { type: 'boolean' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    console.log(NETEM_HELP);
    return ExitCode.Ok;
  }
  const s = withBackend(
    await loadNetworkTarget(onePositional('netem selftest', positionals, 'profile or scenario')),
    backendFlag(values.backend),
  );
  requireEmulation(s, 'selftest');
  const log = (line: string) => {
    if (!values.json) console.error(`selftest: ${line}`);
  };
  log(`profile ${s.name}, backend ${s.network.backend}${values.quick ? ', quick' : ''}`);
  const r = await selftest(s.network, s.transport, { quick: values.quick ?? false, log, signal });
  if (values.json) {
    console.log(JSON.stringify({ profile: s.name, ...r }, null, 2));
  } else {
    console.log(`\nnetem selftest: ${s.name} (backend ${r.backend})\n`);
    console.log(formatChecks(r.checks));
    const failed = r.checks.filter((c) => c.ok === false);
    console.log(`\n${r.ok ? 'PASS' : `FAIL: ${failed.map((c) => c.name).join(', ')}`}`);
  }
  return r.ok ? ExitCode.Ok : ExitCode.RunFailed;
}

async function shellCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const sep = argv.indexOf('--');
  const own = sep < 0 ? argv : argv.slice(0, sep);
  const command = sep < 0 ? [] : argv.slice(sep + 1);
  const { values, positionals } = parse('netem shell', own, {
    server: { type: 'string' },
    'server-wait': { type: 'string' },
    backend: { type: 'string' },
  });
  if (values.help) {
    console.log(NETEM_HELP);
    return ExitCode.Ok;
  }
  if (command.length === 0) {
    throw new UsageError(
      'h3bench netem shell: expected "-- CMD [ARG...]" after the profile (see h3bench netem --help)',
    );
  }
  const s = withBackend(
    await loadNetworkTarget(onePositional('netem shell', positionals, 'profile or scenario')),
    backendFlag(values.backend),
  );
  requireEmulation(s, 'shell');
  const server = values.server === undefined ? null : splitCommand(values.server);
  if (server?.length === 0) throw new UsageError('--server: value error: empty command');
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'h3bench-shell-'));
  try {
    return await runShell(s.network, s.transport, workDir, {
      command,
      server,
      serverWaitMs: intFlag('server-wait', values['server-wait'], 0, 600_000) ?? 300,
      signal,
      log: (line) => {
        console.error(`h3bench netem shell: ${line}`);
      },
    });
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

export async function netemCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'selftest') return selftestCommand(rest, signal);
  if (sub === 'shell') return shellCommand(rest, signal);
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    console.log(NETEM_HELP);
    return sub === undefined ? ExitCode.BadInput : ExitCode.Ok;
  }
  throw new UsageError(
    `h3bench netem: unknown subcommand "${sub}": expected selftest or shell (see h3bench netem --help)`,
  );
}
