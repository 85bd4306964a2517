/** stacks.server caddy: the files of a run, their layout on disk and the JSON config Caddy gets (harness/proto/caddy/). */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Json, JsonObject } from '../../core/json.js';
import {
  BYTES_CONTENT_TYPE,
  CPU_REFUSAL,
  bytesFiles,
  caddyConfig,
  caddyLayout,
  caddyProtocols,
  checkFiles,
  filePathOf,
  listenAddress,
  pageServedFiles,
  type ServedFile,
} from '../../harness/proto/caddy/config.js';
import { DIR_PREFIX, makeDir, sweepStaleDirs, writeServedFiles } from '../../harness/proto/caddy/files.js';
import { parseBuildInfo, parseBuiltUsing, parseVersion } from '../../harness/proto/caddy/binary.js';
import { parseProcStat } from '../../harness/proto/caddy/process.js';
import { MAX_BODY_BYTES, bodySlice, verifyBody } from '../../harness/proto/handler.js';
import { pageBody, pageFiles, type PageSpec } from '../../harness/proto/pages.js';
import { parseScenario } from '../../harness/scenario/load.js';
import { pageOf } from '../../harness/scenario/workload.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-caddy-unit-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function page(): PageSpec {
  const spec = pageOf(parseScenario('name: x\nworkload: {type: page-load}\n', 'x.yaml').workload);
  if (spec === null) throw new Error('no page');
  return spec;
}

/** The body of a served file, from its chunks. */
function bodyOf(f: ServedFile): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off < f.size; off += 65_536)
    parts.push(Buffer.from(f.chunk(off, Math.min(65_536, f.size - off))));
  return Buffer.concat(parts);
}

/** obj[k1][k2]... of a JSON value, failing the test when a step is missing. */
function at(v: Json, ...keys: (string | number)[]): Json {
  let cur: Json = v;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') throw new Error(`no ${String(k)}`);
    const next: Json | undefined = Array.isArray(cur) ? cur[k as number] : cur[k as string];
    if (next === undefined) throw new Error(`no ${String(k)}`);
    cur = next;
  }
  return cur;
}

describe('the files of a run', () => {
  it('has one /bytes file per distinct size, the handler pattern and content type', () => {
    const files = bytesFiles([1000, 0, 1000, 70_000]);
    expect(files.map((f) => f.path)).toEqual(['/bytes/0', '/bytes/1000', '/bytes/70000']);
    for (const f of files) {
      expect(f.contentType).toBe(BYTES_CONTENT_TYPE);
      expect(f.kind).toBe('bytes');
      const body = bodyOf(f);
      expect(body.length).toBe(f.size);
      expect(verifyBody(0, body)).toBe(-1);
    }
    expect(bodyOf(files[2] as ServedFile).subarray(65_536, 65_600)).toEqual(bodySlice(65_536, 64));
  });

  it('refuses a size the handler would not serve', () => {
    expect(() => bytesFiles([-1])).toThrow(/not an integer/);
    expect(() => bytesFiles([1.5])).toThrow(/not an integer/);
    expect(() => bytesFiles([MAX_BODY_BYTES + 1])).toThrow(/not an integer/);
  });

  it("has the page's files with their content types and exact bytes", () => {
    const spec = page();
    const files = pageServedFiles(spec);
    const expected = pageFiles(spec);
    expect(files.map((f) => [f.path, f.contentType, f.size])).toEqual(
      expected.map((f) => [f.path, f.contentType, f.bytes]),
    );
    expect(new Set(files.map((f) => f.contentType)).size).toBeGreaterThan(1);
    for (const f of files) expect(bodyOf(f).equals(pageBody(spec, f.path) ?? Buffer.alloc(0))).toBe(true);
  });

  it('places a file under www only by a plain path', () => {
    expect(filePathOf('/w', '/page/d1-0-3.css')).toBe(path.join('/w', 'page', 'd1-0-3.css'));
    for (const bad of ['page/x', '/a/../b', '/..', '/.hidden', '/a?cpu=1', '/a//b', '/a/', '/a b']) {
      expect(() => filePathOf('/w', bad), bad).toThrow(/not a plain path/);
    }
  });

  it('refuses a path served twice or that is also a directory', () => {
    const [a] = bytesFiles([10]);
    if (a === undefined) throw new Error('no file');
    expect(() => {
      checkFiles([a, a]);
    }).toThrow(/twice/);
    expect(() => {
      checkFiles([a, { ...a, path: '/bytes/10/x' }]);
    }).toThrow(/both a file and a directory/);
  });
});

describe('the files on disk', () => {
  it('writes every file byte for byte under www and refuses to overwrite', async () => {
    const www = path.join(tmp, 'www');
    mkdirSync(www);
    const spec = page();
    const files = [...bytesFiles([0, 5, 3_000_000]), ...pageServedFiles(spec)];
    await writeServedFiles(www, files);
    for (const f of files) {
      const onDisk = readFileSync(filePathOf(www, f.path));
      expect(onDisk.length).toBe(f.size);
      if (f.kind === 'bytes') expect(verifyBody(0, onDisk)).toBe(-1);
      else expect(onDisk.equals(pageBody(spec, f.path) ?? Buffer.alloc(0))).toBe(true);
    }
    await expect(writeServedFiles(www, bytesFiles([5]))).rejects.toThrow(/EEXIST/);
  });

  it("gives each server a private directory named by its process, and removes dead processes' ones", async () => {
    const root = path.join(tmp, 'root');
    mkdirSync(root);
    const mine = await makeDir(root);
    expect(path.basename(mine)).toMatch(new RegExp(`^${DIR_PREFIX}${process.pid}-[A-Za-z0-9]{6}$`));
    expect(statSync(mine).mode & 0o777).toBe(0o700);
    // Above the kernel's pid_max (at most 2^22): no such process.
    const dead = path.join(root, `${DIR_PREFIX}999999999-abcdef`);
    const other = path.join(root, 'h3bench-caddy-not-ours');
    for (const d of [dead, other]) mkdirSync(d);
    expect(await sweepStaleDirs(root)).toEqual([dead]);
    expect([mine, dead, other].map((d) => existsSync(d))).toEqual([true, false, true]);
  });
});

describe('the Caddy config', () => {
  const layout = caddyLayout('/tmp/h3bench-caddy-1-abcdef');
  const spec = page();
  const files = [...bytesFiles([20_000]), ...pageServedFiles(spec)];
  const config = caddyConfig({
    layout,
    host: '198.18.0.2',
    port: 4433,
    protocols: ['h2'],
    files,
    gracePeriodMs: 1000,
  });
  const server = at(config, 'apps', 'http', 'servers', 'h3bench');

  it('keeps everything inside the layout, with admin API, config persistence and automatic HTTPS off', () => {
    const { dir, ...inside } = layout;
    for (const p of [
      inside.www,
      inside.certFile,
      inside.keyFile,
      inside.configFile,
      inside.storage,
      inside.home,
    ]) {
      expect(path.dirname(p)).toBe(dir);
    }
    expect(at(config, 'admin')).toEqual({ disabled: true, config: { persist: false } });
    expect(at(config, 'storage')).toEqual({ module: 'file_system', root: layout.storage });
    expect(at(server, 'automatic_https')).toEqual({ disable: true });
    expect(at(config, 'apps', 'tls', 'certificates', 'load_files')).toEqual([
      { certificate: layout.certFile, key: layout.keyFile },
    ]);
    expect(at(config, 'apps', 'http', 'grace_period')).toBe('1000ms');
  });

  it('listens on the run address with TLS 1.3 only', () => {
    expect(at(server, 'listen')).toEqual(['198.18.0.2:4433']);
    expect(listenAddress('::1', 443)).toBe('[::1]:443');
    const policy = at(server, 'tls_connection_policies', 0);
    expect(at(policy, 'protocol_min')).toBe('tls1.3');
    expect(at(policy, 'protocol_max')).toBe('tls1.3');
    expect(at(policy, 'alpn')).toEqual(['h2']);
  });

  it("serves only the run's protocol: h1 alone, h2 with ALPN h2 only (Caddy needs h1 on), h3 alone", () => {
    expect(caddyProtocols(['h1'])).toEqual({ protocols: ['h1'], alpn: ['http/1.1'] });
    expect(caddyProtocols(['h2'])).toEqual({ protocols: ['h1', 'h2'], alpn: ['h2'] });
    expect(caddyProtocols(['h3'])).toEqual({ protocols: ['h3'], alpn: null });
    expect(caddyProtocols(['h1', 'h2', 'h3'])).toEqual({
      protocols: ['h1', 'h2', 'h3'],
      alpn: ['h2', 'http/1.1'],
    });
    expect(at(server, 'protocols')).toEqual(['h1', 'h2']);
    const h3 = caddyConfig({
      layout,
      host: '127.0.0.1',
      port: 1,
      protocols: ['h3'],
      files,
      gracePeriodMs: 1,
    });
    const h3Policy = at(h3, 'apps', 'http', 'servers', 'h3bench', 'tls_connection_policies', 0) as JsonObject;
    expect(h3Policy['alpn']).toBeUndefined();
  });

  it('logs requests as JSON on stdout and everything else on stderr', () => {
    const logs = at(config, 'logging', 'logs');
    expect(at(logs, 'access')).toEqual({
      writer: { output: 'stdout' },
      encoder: { format: 'json' },
      include: ['http.log.access'],
    });
    expect(at(logs, 'default', 'exclude')).toEqual(['http.log.access']);
    expect(at(logs, 'default', 'writer', 'output')).toBe('stderr');
    expect(at(server, 'logs')).toEqual({});
  });

  it('answers like the handler where a file server can: methods, ?cpu=, X-Request-ID, types, no-store', () => {
    const routes = at(server, 'routes') as JsonObject[];
    expect(routes[0]).toMatchObject({
      match: [{ not: [{ method: ['GET', 'HEAD'] }] }],
      handle: [{ handler: 'static_response', status_code: 405 }],
      terminal: true,
    });
    expect(routes[1]).toMatchObject({
      match: [{ query: { cpu: ['*'] } }],
      handle: [{ handler: 'static_response', status_code: CPU_REFUSAL.status }],
      terminal: true,
    });
    expect(routes[2]).toMatchObject({ match: [{ header: { 'X-Request-Id': ['*'] } }] });
    // One route per content type, listing exactly the files of that type.
    const typed = routes.slice(3, -1);
    const byType = new Map(
      typed.map((r) => [
        at(r, 'handle', 0, 'response', 'set', 'Content-Type', 0) as string,
        at(r, 'match', 0, 'path') as string[],
      ]),
    );
    expect(byType.size).toBe(new Set(files.map((f) => f.contentType)).size);
    for (const f of files) expect(byType.get(f.contentType)).toContain(f.path);
    expect(byType.get(BYTES_CONTENT_TYPE)).toEqual(['/bytes/20000']);
    expect(routes.at(-1)).toEqual({
      handle: [
        { handler: 'headers', response: { set: { 'Cache-Control': ['no-store'] } } },
        { handler: 'file_server', root: layout.www, canonical_uris: false },
      ],
    });
  });

  it('adds Alt-Svc when asked, and serves a directory as it is without files', () => {
    const alt = caddyConfig({
      layout,
      host: '127.0.0.1',
      port: 1,
      protocols: ['h1'],
      files: null,
      gracePeriodMs: 1,
      altSvcH3Port: 8443,
    });
    const routes = at(alt, 'apps', 'http', 'servers', 'h3bench', 'routes') as JsonObject[];
    expect(routes).toHaveLength(4);
    expect(at(routes.at(-1) ?? {}, 'handle', 0, 'response', 'set', 'Alt-Svc')).toEqual(['h3=":8443"']);
  });
});

describe('what runs', () => {
  it("reads Caddy's version, Go and quic-go from build-info or Debian's Built-Using", () => {
    expect(parseVersion('2.6.2\n')).toBe('2.6.2');
    expect(parseVersion('v2.7.6 h1:w0NymbG2m9PcvKWsrXO6EEkY9Ru4FJK8uQbYcev1p3A=\n')).toBe('v2.7.6');
    expect(parseVersion('Error: unknown command\n')).toBeNull();
    expect(parseBuildInfo('go\tgo1.19.8\npath\tgithub.com/caddyserver/caddy/v2/cmd/caddy\n')).toEqual({
      go: 'go1.19.8',
      quicGo: null,
    });
    expect(
      parseBuildInfo(
        'go\tgo1.21.5\ndep\tgithub.com/quic-go/qpack\tv0.4.0\th1:x=\ndep\tgithub.com/quic-go/quic-go\tv0.40.1\th1:y=\n',
      ),
    ).toEqual({ go: 'go1.21.5', quicGo: 'v0.40.1' });
    const field =
      'golang-github-libdns-libdns (= 0.2.0-2), golang-github-lucas-clemente-quic-go (= 0.29.0-1), golang-github-marten-seemann-qpack (= 0.2.1+ds-1)';
    expect(parseBuiltUsing(field)).toBe('0.29.0');
    expect(parseBuiltUsing('golang-github-quic-go-quic-go (= 1:0.48.2-3+deb13u1)')).toBe('0.48.2');
    expect(parseBuiltUsing('golang-github-quic-go-qpack (= 0.4.0-1)')).toBeNull();
  });

  it("reads a process's CPU time from /proc/<pid>/stat", () => {
    const stat = '1234 (caddy (x) y) S 1 1234 1234 0 -1 4194560 1 0 0 0 250 75 0 0 20 0 8 0 5 1 1';
    expect(parseProcStat(stat, 100)).toEqual({ user: 2500, system: 750 });
    expect(parseProcStat('garbage', 100)).toBeNull();
  });
});
