/** TCP vs QUIC fairness, judged from what was read back (link/fairness.ts), and how it is recorded. */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../harness/scenario/load.js';
import {
  cubicHystartParam,
  hostCongestion,
  judgeFairness,
  parseRootQdisc,
  type TcpFacts,
} from '../../link/fairness.js';
import { linkUp } from '../../link/index.js';

/** An emulated link as set up: both namespaces read back, the endpoints' qdisc as given. */
function emulated(over: Partial<TcpFacts> = {}): TcpFacts {
  return {
    loopback: false,
    congestion: 'cubic',
    qdisc: { client: 'pfifo', server: 'pfifo' },
    devices: "the endpoints' egress (c0, s0)",
    fqAvailable: true,
    cubicHystart: '1',
    ...over,
  };
}

const T = { congestion: 'cubic', pacing: false, hystart: true } as const;

describe('judgeFairness', () => {
  it('finds nothing unfair in the default setting: cubic, HyStart, no pacing, pfifo on the endpoints', () => {
    const f = judgeFairness(T, emulated());
    expect(f.warnings).toEqual([]);
    expect(f.congestion).toBe('cubic for TCP (tcp_congestion_control in both namespaces) and QUIC (driver)');
    expect(f.pacing).toMatch(/^off for both \(TCP: pfifo on the endpoints' egress/);
    expect(f.hystart).toMatch(/TCP: HyStart \(Linux CUBIC, tcp_cubic hystart=1.*QUIC: HyStart\+\+/);
  });

  it("does not say 'off for both' when the endpoints ended up with fq (e.g. a host default_qdisc of fq)", () => {
    const f = judgeFairness(T, emulated({ qdisc: { client: 'fq', server: 'fq' } }));
    expect(f.pacing).toMatch(/^TCP paced \(fq on .*\), QUIC NOT paced/);
    expect(f.warnings).toHaveLength(1);
    expect(f.warnings[0]).toMatch(/TCP is paced .* QUIC driver does not/);
  });

  it('bbr without pacing: TCP BBR paces itself, QUIC does not: warned', () => {
    const f = judgeFairness({ ...T, congestion: 'bbr' }, emulated({ congestion: 'bbr' }));
    expect(f.pacing).toMatch(/^TCP paced \(BBR paces itself/);
    expect(f.warnings).toEqual([
      'transport.congestion bbr with transport.pacing false: Linux TCP BBR paces itself while the QUIC driver does not pace (unfair); set transport.pacing: true',
    ]);
    expect(f.hystart).toMatch(/BBR has its own startup/);
  });

  it('bbr with pacing is fair even without sch_fq (BBR paces itself)', () => {
    const f = judgeFairness(
      { ...T, congestion: 'bbr', pacing: true },
      emulated({ congestion: 'bbr', fqAvailable: false }),
    );
    expect(f.warnings).toEqual([]);
    expect(f.pacing).toMatch(/^on for both \(TCP: BBR paces itself/);
  });

  it('pacing with fq on both endpoints is fair; without sch_fq TCP is not paced: warned', () => {
    expect(
      judgeFairness({ ...T, pacing: true }, emulated({ qdisc: { client: 'fq', server: 'fq' } })).warnings,
    ).toEqual([]);
    const f = judgeFairness({ ...T, pacing: true }, emulated({ fqAvailable: false }));
    expect(f.pacing).toBe('QUIC paced by the driver, TCP NOT paced (no sch_fq in this kernel)');
    expect(f.warnings[0]).toMatch(/no sch_fq: TCP is NOT paced while the QUIC driver paces/);
  });

  it('hystart: false turns HyStart++ off for QUIC only under cubic: warned', () => {
    const f = judgeFairness({ ...T, hystart: false }, emulated());
    expect(f.hystart).toMatch(/TCP: HyStart .*QUIC: off/);
    expect(f.warnings).toHaveLength(1);
    expect(f.warnings[0]).toMatch(/^transport.hystart: false turns HyStart\+\+ off for QUIC only/);
    // A host with tcp_cubic hystart=0 matches it.
    expect(judgeFairness({ ...T, hystart: false }, emulated({ cubicHystart: '0' })).warnings).toEqual([]);
  });

  it('reno: Linux Reno has no HyStart, quiche Reno uses HyStart++ when enabled', () => {
    const reno = emulated({ congestion: 'reno' });
    expect(judgeFairness({ ...T, congestion: 'reno' }, reno).warnings[0]).toMatch(
      /reno with transport.hystart: true/,
    );
    expect(judgeFairness({ ...T, congestion: 'reno', hystart: false }, reno).warnings).toEqual([]);
  });

  it('loopback: TCP uses the host congestion control; a difference is warned about', () => {
    const lo = emulated({ loopback: true, qdisc: { client: 'noqueue', server: 'noqueue' }, devices: 'lo' });
    expect(judgeFairness(T, lo).warnings).toEqual([]);
    const f = judgeFairness(T, { ...lo, congestion: 'bbr' });
    expect(f.congestion).toMatch(/^TCP: bbr \(the host's net.ipv4.tcp_congestion_control/);
    expect(f.warnings[0]).toBe(
      'network.backend none (host loopback): TCP uses the host\'s congestion control "bbr" while QUIC uses transport.congestion "cubic" (unfair); set transport.congestion: bbr, or use an emulated backend',
    );
    // Host BBR paces TCP while QUIC is not paced: said too (not as a "transport.congestion bbr" case).
    expect(f.warnings[1]).toMatch(/^TCP is paced \(BBR paces itself/);
    expect(f.warnings).toHaveLength(2);
    const pacedOnLo = judgeFairness({ ...T, pacing: true }, lo);
    expect(pacedOnLo.warnings[0]).toMatch(/on host loopback TCP is NOT paced/);
  });
});

describe('parseRootQdisc', () => {
  it('reads the root qdisc kind from tc qdisc show, with or without "dev"', () => {
    expect(parseRootQdisc('qdisc pfifo 8001: root refcnt 2 limit 10000p\n')).toBe('pfifo');
    expect(parseRootQdisc('qdisc noqueue 0: dev lo root refcnt 2 \n')).toBe('noqueue');
    expect(
      parseRootQdisc(
        'qdisc fq 8002: root refcnt 2 limit 10000p flow_limit 100p\nqdisc ingress ffff: parent ffff:fff1 ----------------\n',
      ),
    ).toBe('fq');
    expect(parseRootQdisc('qdisc netem 1: parent 8001:1 limit 1000\n')).toBe('unknown');
    expect(parseRootQdisc('')).toBe('unknown');
  });
});

describe('loopback link (backend none)', () => {
  it('records the fairness of host loopback and warns when the host congestion control differs', async () => {
    const s = parseScenario(
      'name: t\nnetwork: { backend: none }\ntransport: { congestion: cubic }\nworkload: { type: multiplex }\n',
      '/tmp/t.yaml',
    );
    const link = await linkUp(s.network, s.transport, { workDir: '/nonexistent' });
    const prov = link.provenance();
    const host = hostCongestion();
    expect(prov.fairness.congestion).toContain(`TCP: ${host}`);
    expect(prov.fairness.hystart).toBeDefined();
    const ccWarning = prov.warnings.filter((w) => w.includes("the host's congestion control"));
    expect(ccWarning).toHaveLength(host === 'cubic' ? 0 : 1);
    if (host === 'cubic' && cubicHystartParam() !== '0') expect(prov.warnings).toEqual([]);
    await link.down();
  });
});
