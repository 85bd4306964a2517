/** What crosses the process boundary is validated (harness/runner/children.ts). */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunError } from '../../core/errors.js';
import { parseServerEvent, readClientReport, serverEvents, waitExit } from '../../harness/runner/children.js';
import { client } from '../fixtures/synthetic.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-children-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('parseServerEvent', () => {
  it('accepts the three events and ignores lines that are not events', () => {
    expect(parseServerEvent('{"event":"ready","port":4433}')).toEqual({ event: 'ready', port: 4433 });
    expect(parseServerEvent('{"event":"error","message":"EADDRINUSE"}')).toMatchObject({ event: 'error' });
    expect(
      parseServerEvent(
        JSON.stringify({
          event: 'stopped',
          report: { protocol: 'h2', cpu: { userMs: 1, systemMs: 1, wallMs: 2 }, requests: 3, settings: {} },
        }),
      ),
    ).toMatchObject({ event: 'stopped', report: { requests: 3 } });
    expect(parseServerEvent('some library chatter')).toBeNull();
  });

  it.each([
    ['{"event":"ready","port":"4433"}', /h2 server sent an invalid event line \(port: /],
    ['{"event":"ready"}', /h2 server sent an invalid event line \(port: /],
    ['{"event":"started","port":1}', /h2 server sent an invalid event line/],
    ['{"event":"stopped","report":{"protocol":"h9"}}', /report\.protocol/],
    ['{"event":"ready",', /h2 server sent an event line that is not JSON/],
  ])('rejects %s with a RunError naming the process', (line, message) => {
    expect(() => parseServerEvent(line, 'h2 server')).toThrow(RunError);
    expect(() => parseServerEvent(line, 'h2 server')).toThrow(message);
  });
});

describe('serverEvents', () => {
  it('rejects next() with the invalid line instead of waiting for a timeout', async () => {
    const child = spawn(process.execPath, [
      '-e',
      'console.log(JSON.stringify({event:"ready",port:99999})); setTimeout(() => {}, 5000)',
    ]);
    const events = serverEvents(child, 'h1 server');
    await expect(events.next(4000)).rejects.toThrow(/h1 server sent an invalid event line \(port: /);
    child.kill('SIGKILL');
    await waitExit(child, 1000);
  });

  it('rejects next() when the process exits, with its stderr', async () => {
    const child = spawn(process.execPath, ['-e', 'console.error("boom"); process.exit(3)']);
    const events = serverEvents(child, 'h3 server');
    await expect(events.next(4000)).rejects.toThrow(/h3 server exited \(code 3\): boom/);
  });
});

describe('readClientReport', () => {
  it('returns a valid report', async () => {
    const file = path.join(tmp, 'ok.json');
    writeFileSync(file, JSON.stringify(client('h2', [{ data: [1, 2] }])));
    const r = await readClientReport(file, 'h2 client');
    expect(r.protocol).toBe('h2');
    expect(r.requests).toHaveLength(1);
  });

  it.each([
    ['not json', /h2 client wrote a report that is not JSON/],
    [JSON.stringify({ protocol: 'h2' }), /h2 client wrote an invalid report: .*(t0EpochMs|durationMs)/],
    [
      JSON.stringify({ ...client('h2', [{ data: [1, 2] }]), requests: [{ id: 'x' }] }),
      /h2 client wrote an invalid report: requests\.0\./,
    ],
  ])('rejects %s with a RunError naming the client', async (text, message) => {
    const file = path.join(tmp, 'bad.json');
    writeFileSync(file, text);
    await expect(readClientReport(file, 'h2 client')).rejects.toThrow(message);
    await expect(readClientReport(file, 'h2 client')).rejects.toBeInstanceOf(RunError);
  });

  it('names a missing report', async () => {
    await expect(readClientReport(path.join(tmp, 'none.json'), 'h1 client')).rejects.toThrow(
      /h1 client exited 0 but its report .* cannot be read/,
    );
  });
});
