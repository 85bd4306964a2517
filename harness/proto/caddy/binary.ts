/**
 * Which Caddy runs: its version (`caddy version`), the Go toolchain it was built with and the
 * quic-go version inside it. Upstream builds list their modules in `caddy build-info` (Go's
 * debug.BuildInfo); Debian's do not (built from packaged sources), and its package records the
 * source packages it was built from (`Built-Using`), quic-go's among them, so that is asked when the
 * binary on PATH belongs to the package.
 */
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { CADDY_BIN, runQuiet } from './process.js';

export interface CaddyBinary {
  /** Absolute path of the binary on PATH, or null when there is none. */
  path: string | null;
  /** `caddy version` (first word), or null when it cannot run. */
  version: string | null;
  /** Go toolchain, e.g. "go1.19.8" (build-info), or null. */
  go: string | null;
  /** quic-go version, or null when neither source names it. */
  quicGo: string | null;
  /** Where quicGo came from. */
  quicGoFrom: 'caddy build-info' | 'dpkg Built-Using' | null;
}

/** The first word of `caddy version` ("2.6.2" from Debian, "v2.7.6 h1:..." upstream). */
export function parseVersion(out: string): string | null {
  const v = out.trim().split(/\s+/)[0] ?? '';
  return /^v?\d+\.\d+/.test(v) ? v : null;
}

/** The Go version and quic-go module version in `caddy build-info` output. */
export function parseBuildInfo(out: string): { go: string | null; quicGo: string | null } {
  let go: string | null = null;
  let quicGo: string | null = null;
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'go' && f[1] !== undefined) go = f[1];
    if (f[0] === 'dep' && /^github\.com\/(?:quic-go|lucas-clemente)\/quic-go$/.test(f[1] ?? '')) {
      quicGo = f[2] ?? null;
    }
  }
  return { go, quicGo };
}

/**
 * quic-go's upstream version in a Debian `Built-Using` field: its source package's version without
 * epoch and Debian revision ("0.29.0-1" → "0.29.0").
 */
export function parseBuiltUsing(field: string): string | null {
  const m = /golang-github-(?:lucas-clemente|quic-go)-quic-go \(= (?:\d+:)?([^)\s]+?)(?:-[^-)\s]+)?\)/.exec(
    field,
  );
  return m?.[1] ?? null;
}

/** The binary `name` on PATH, resolved through symlinks, or null. */
function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    const p = path.join(dir, name);
    if (existsSync(p)) return realpathSync(p);
  }
  return null;
}

let cached: Promise<CaddyBinary> | undefined;

/** What the Caddy on PATH is (asked once per process). */
export function caddyBinary(): Promise<CaddyBinary> {
  cached ??= (async () => {
    const bin = onPath(CADDY_BIN);
    const [version, info] = await Promise.all([
      runQuiet(CADDY_BIN, ['version']),
      runQuiet(CADDY_BIN, ['build-info']),
    ]);
    const built = parseBuildInfo(info ?? '');
    let quicGo = built.quicGo;
    let quicGoFrom: CaddyBinary['quicGoFrom'] = quicGo === null ? null : 'caddy build-info';
    if (quicGo === null && bin !== null) {
      // Only when dpkg says the binary on PATH is the package's own file.
      const owner = await runQuiet('dpkg-query', ['-S', bin]);
      const pkg = owner?.split(':')[0]?.trim();
      if (pkg !== undefined && pkg !== '') {
        const field = await runQuiet('dpkg-query', ['-W', '--showformat=${Built-Using}', pkg]);
        quicGo = parseBuiltUsing(field ?? '');
        if (quicGo !== null) quicGoFrom = 'dpkg Built-Using';
      }
    }
    return { path: bin, version: parseVersion(version ?? ''), go: built.go, quicGo, quicGoFrom };
  })();
  return cached;
}
