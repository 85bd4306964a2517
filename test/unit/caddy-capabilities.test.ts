/** stacks.server caddy: what it cannot honour (refused, exit 127) and what it does not pin (fairness warnings). */
import { describe, expect, it } from 'vitest';
import { ExitCode, UnsupportedError } from '../../core/errors.js';
import {
  CADDY_NOT_PINNABLE,
  CADDY_UNSUPPORTED_PEERS,
  caddyUnsupported,
  caddyWarnings,
  caddyWorkloadProblem,
} from '../../harness/proto/caddy/capabilities.js';
import { checkEndpoints } from '../../harness/runner/endpoints.js';
import { parseScenarioPoints } from '../../harness/scenario/load.js';
import { PROTOCOLS, transportSchema } from '../../harness/scenario/schema.js';

const transport = (t: Record<string, unknown> = {}) => transportSchema.parse(t);

function refusal(yaml: string): string {
  const { scenario, points } = parseScenarioPoints(yaml, 'x.yaml');
  try {
    checkEndpoints({ scenario, points, file: '/tmp/x.yaml', hash: 'h' });
  } catch (e) {
    expect(e).toBeInstanceOf(UnsupportedError);
    expect((e as UnsupportedError).exitCode).toBe(ExitCode.Unsupported);
    return (e as Error).message;
  }
  return '';
}

const BASE = 'name: x\nworkload: {type: multiplex}\nstacks: {server: caddy}\n';
const FAIR = 'transport: {congestion: reno, pacing: true}\n';

describe('caddyUnsupported', () => {
  it('finds nothing to refuse over TCP: the kernel and the client pin what matters', () => {
    for (const t of [transport(), transport({ congestion: 'bbr', pacing: false, hystart: false })]) {
      expect(caddyUnsupported(t, 'h1')).toBeNull();
      expect(caddyUnsupported(t, 'h2')).toBeNull();
    }
  });

  it('refuses over h3 what quic-go cannot do: CUBIC or BBR, no pacing, no hybrid slow start', () => {
    const why = caddyUnsupported(transport(), 'h3') ?? '';
    expect(why).toMatch(/congestion cubic \(quic-go 0\.29 hard-codes Reno: only reno\)/);
    expect(why).toMatch(/pacing false \(quic-go always paces\)/);
    expect(why).not.toMatch(/hystart/);
    expect(caddyUnsupported(transport({ congestion: 'bbr', pacing: true }), 'h3')).toMatch(/congestion bbr/);
    expect(caddyUnsupported(transport({ congestion: 'reno', pacing: true, hystart: false }), 'h3')).toMatch(
      /^caddy cannot pin hystart false .* over h3$/,
    );
    expect(caddyUnsupported(transport({ congestion: 'reno', pacing: true }), 'h3')).toBeNull();
  });
});

describe('the runner with stacks.server caddy', () => {
  it('refuses, with exit 127, a transport quic-go cannot honour when h3 runs', () => {
    expect(refusal(BASE)).toMatch(
      /stacks\.server is caddy: caddy cannot pin congestion cubic .*; ask for what it can pin \(transport: \{congestion: reno, pacing: true, hystart: true\}\) or leave h3 out of protocols/,
    );
    expect(refusal(`${BASE}${FAIR}`)).toBe('');
    expect(refusal(`${BASE}protocols: [h1, h2]\n`)).toBe('');
  });

  it('refuses more HTTP/2 streams at once than Go allows, only for a multiplex burst over h2', () => {
    const burst = (c: number, extra = '') =>
      refusal(`${BASE.replace('{type: multiplex}', `{type: multiplex, concurrency: ${c}}`)}${FAIR}${extra}`);
    expect(burst(251)).toMatch(
      /stacks\.server is caddy: caddy \(Go net\/http\) allows 250 concurrent HTTP\/2 streams .*first 251 requests.*; lower workload\.concurrency to 250 or leave h2 out of protocols/,
    );
    expect(burst(250)).toBe('');
    // h3 waits for stream credit (MAX_STREAMS comes with the handshake); h1 has no streams.
    expect(burst(600, 'protocols: [h1, h3]\n')).toBe('');
    expect(
      caddyWorkloadProblem(
        { type: 'cold', requests: 5, sizeBytes: 1, concurrency: 100, timeoutMs: 1, allowedFailures: 0 },
        'h2',
      ),
    ).toBeNull();
  });

  it('still names server CPU first, which Caddy cannot burn whatever the transport', () => {
    expect(refusal(BASE.replace('{type: multiplex}', '{type: multiplex, serverCpu: 2ms}'))).toMatch(
      /cannot burn workload\.serverCpu/,
    );
  });

  it('lets Chromium load the page from Caddy over every protocol (no known failing pairing)', () => {
    expect(CADDY_UNSUPPORTED_PEERS).toEqual({});
    expect(
      refusal(`name: x\nworkload: {type: page-load}\nstacks: {server: caddy, client: chromium}\n${FAIR}`),
    ).toBe('');
  });
});

describe('caddyWarnings', () => {
  it('lists what Caddy does not pin for each protocol, one line each', () => {
    const t = transport({ congestion: 'reno', pacing: true, streamWindow: '4MB' });
    for (const p of PROTOCOLS) {
      const lines = caddyWarnings(p, t);
      expect(lines).toHaveLength(Object.keys(CADDY_NOT_PINNABLE[p]).length);
      for (const l of lines) expect(l).toMatch(/^server caddy does not pin \w+: /);
    }
    expect(caddyWarnings('h1', t).join('\n')).not.toMatch(/scheduling/);
    const h2 = caddyWarnings('h2', t).join('\n');
    expect(h2).toMatch(/scheduling: server\.scheduling is not applied/);
    expect(h2).toMatch(/maxConcurrentStreams: Go default 250/);
    expect(h2).toMatch(
      /serverReceiveWindows: .*\(the scenario's 4000000 B stream and 16000000 B connection windows\)/,
    );
    const h3 = caddyWarnings('h3', t).join('\n');
    expect(h3).toMatch(/congestion: quic-go's Reno .*0\.7×/);
    expect(h3).toMatch(/maxStreamsBidi: quic-go default 100/);
    expect(h3).toMatch(/tcpListener: /);
  });
});
