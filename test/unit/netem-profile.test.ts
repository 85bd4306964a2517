import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../core/errors.js';
import { parseScenario } from '../../harness/scenario/load.js';
import {
  expectedLossFraction,
  expectedMeanBurst,
  fourStateStationary,
  type NetworkProfile,
} from '../../core/network.js';

const FILE = '/tmp/scenarios/net.yaml';

function profileOf(network: string): NetworkProfile {
  return parseScenario(`name: t\nseed: 9\nnetwork:\n${network}workload: { type: multiplex }\n`, FILE).network
    .profile;
}

function errorOf(network: string): ScenarioError {
  try {
    parseScenario(`name: t\nnetwork:\n${network}workload: { type: multiplex }\n`, FILE);
  } catch (err) {
    if (err instanceof ScenarioError) return err;
    throw err;
  }
  throw new Error('expected a ScenarioError');
}

describe('resolveNetwork: delay', () => {
  it('applies delay one-way in each direction', () => {
    const p = profileOf('  backend: linkem\n  delay: 20ms\n');
    expect(p.down.delayMs).toBe(20);
    expect(p.up.delayMs).toBe(20);
  });

  it('splits rtt evenly, and gives the rest of the rtt to the side without an override', () => {
    const p = profileOf('  backend: linkem\n  rtt: 100ms\n  down: { delay: 70ms }\n');
    expect(p.down.delayMs).toBe(70);
    expect(p.up.delayMs).toBe(30);
    const q = profileOf('  backend: linkem\n  rtt: 40ms\n');
    expect([q.down.delayMs, q.up.delayMs]).toEqual([20, 20]);
  });

  it('uses the scenario seed unless network.seed is given, and mtu 1500 by default', () => {
    expect(profileOf('  backend: linkem\n  delay: 1ms\n').seed).toBe(9);
    expect(profileOf('  backend: linkem\n  delay: 1ms\n  seed: 4\n').seed).toBe(4);
    expect(profileOf('  backend: linkem\n  delay: 1ms\n').mtuBytes).toBe(1500);
  });
});

describe('resolveNetwork: jitter, rate, queue', () => {
  it('reads jitter as a duration (uniform) or with a distribution', () => {
    const p = profileOf('  backend: netem\n  delay: 20ms\n  jitter: { amount: 3ms, distribution: pareto }\n');
    expect(p.down.jitterMs).toBe(3);
    expect(p.down.jitterDistribution).toBe('pareto');
    const q = profileOf('  backend: linkem\n  delay: 20ms\n  jitter: 2ms\n');
    expect(q.up.jitterDistribution).toBe('uniform');
  });

  it('reads rate per direction from rate: {down, up} or from down/up blocks', () => {
    const p = profileOf('  backend: linkem\n  rate: { down: 10mbit }\n  up: { rate: 3mbit }\n');
    expect(p.down.rateKbit).toBe(10_000);
    expect(p.up.rateKbit).toBe(3000);
  });

  it('defaults the queue to one BDP in bytes when a rate is set', () => {
    const p = profileOf('  backend: linkem\n  rtt: 100ms\n  rate: 10mbit\n');
    expect(p.down.queueBytes).toBe(125_000);
    expect(p.down.queuePackets).toBeNull();
  });

  it('never defaults the queue below 10 MTU', () => {
    const p = profileOf('  backend: linkem\n  rate: 10mbit\n');
    expect(p.down.queueBytes).toBe(15_000);
  });

  it('reads queue as packets, bytes or time at the direction rate', () => {
    expect(profileOf('  backend: linkem\n  rate: 10mbit\n  queue: 64\n').down.queuePackets).toBe(64);
    expect(profileOf('  backend: linkem\n  rate: 10mbit\n  queue: 64KB\n').down.queueBytes).toBe(64_000);
    const t = profileOf('  backend: linkem\n  rate: { down: 10mbit, up: 2mbit }\n  queue: 40ms\n');
    expect(t.down.queueBytes).toBe(50_000);
    expect(t.up.queueBytes).toBe(10_000);
    const both = profileOf('  backend: linkem\n  rate: 10mbit\n  queue: { packets: 30, bytes: 45KB }\n');
    expect([both.up.queuePackets, both.up.queueBytes]).toEqual([30, 45_000]);
  });

  it('lets a direction block override loss and queue', () => {
    const p = profileOf('  backend: linkem\n  rate: 10mbit\n  loss: 1%\n  up: { loss: 0%, queue: 20 }\n');
    expect(p.down.loss).toEqual({ model: 'random', pct: 1 });
    expect(p.up.loss).toEqual({ model: 'none' });
    expect(p.up.queuePackets).toBe(20);
  });

  it('reads reorder, duplicate and corrupt for netem', () => {
    const p = profileOf('  backend: netem\n  delay: 10ms\n  reorder: 5%\n  duplicate: 1%\n  corrupt: 0.1%\n');
    expect([p.down.reorderPct, p.down.duplicatePct, p.down.corruptPct]).toEqual([5, 1, 0.1]);
  });
});

describe('resolveNetwork: loss models', () => {
  it('converts {rate, meanBurst} to a simple Gilbert model with that rate and burst', () => {
    const p = profileOf('  backend: linkem\n  loss: { rate: 1%, meanBurst: 3 }\n');
    expect(expectedLossFraction(p.down.loss)).toBeCloseTo(0.01, 12);
    expect(expectedMeanBurst(p.down.loss)).toBeCloseTo(3, 9);
  });

  it('reads Gilbert-Elliott h and k as delivery probabilities (netem gemodel p r 1-h 1-k)', () => {
    const p = profileOf('  backend: linkem\n  loss: { p: 1%, r: 25%, h: 10%, k: 99.9% }\n');
    expect(p.down.loss).toEqual({
      model: 'gilbert-elliott',
      pPct: 1,
      rPct: 25,
      lossInBadPct: 90,
      lossInGoodPct: expect.closeTo(0.1, 9) as number,
    });
  });

  it('fills 4-state defaults explicitly and computes its stationary loss', () => {
    const p = profileOf('  backend: linkem\n  loss: { p13: 2% }\n');
    expect(p.down.loss).toEqual({
      model: 'four-state',
      p13Pct: 2,
      p31Pct: 98,
      p32Pct: 0,
      p23Pct: 100,
      p14Pct: 0,
    });
    // p13 alone is Bernoulli.
    expect(expectedLossFraction(p.down.loss)).toBeCloseTo(0.02, 9);
    const g = fourStateStationary({
      model: 'four-state',
      p13Pct: 1,
      p31Pct: 30,
      p32Pct: 0,
      p23Pct: 100,
      p14Pct: 0,
    });
    // 2-state Gilbert: loss p13/(p13+p31), burst 1/p31.
    expect(g.lossFraction).toBeCloseTo(0.01 / 0.31, 9);
    expect(g.meanBurst).toBeCloseTo(1 / 0.3, 6);
  });
});

describe('networkInputSchema: errors name the key path and the value', () => {
  it('rejects delay with rtt', () => {
    const e = errorOf('  backend: linkem\n  delay: 20ms\n  rtt: 40ms\n');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('network.rtt cannot be combined with network.delay');
    expect(e.message).toContain('current value is "40ms"');
  });

  it('rejects jitter larger than the delay', () => {
    const e = errorOf('  backend: linkem\n  delay: 2ms\n  jitter: 5ms\n');
    expect(e.message).toContain('network.jitter must be <= the one-way delay');
    expect(e.message).toContain('"5ms"');
  });

  it('rejects a non-uniform distribution, reorder, duplicate and corrupt for linkem', () => {
    const e = errorOf('  backend: linkem\n  delay: 20ms\n  jitter: { amount: 2ms, distribution: normal }\n');
    expect(e.message).toContain('network.jitter.distribution is not supported by the linkem backend');
    expect(e.message).toContain('"normal"');
    const r = errorOf('  backend: linkem\n  delay: 20ms\n  up: { reorder: 1% }\n');
    expect(r.message).toContain('network.up.reorder is not supported by the linkem backend');
  });

  it('rejects a queue without a rate', () => {
    const e = errorOf('  backend: linkem\n  delay: 10ms\n  queue: 50ms\n');
    expect(e.message).toContain('network.queue needs network.rate');
    const d = errorOf('  backend: linkem\n  rate: { down: 1mbit }\n  up: { queue: 10 }\n');
    expect(d.message).toContain('network.up.queue needs a rate in the up direction');
  });

  it('rejects a byte queue smaller than one MTU', () => {
    const e = errorOf('  backend: linkem\n  rate: 10mbit\n  queue: 1000B\n');
    expect(e.message).toContain('network.queue must hold at least one MTU (1500 bytes)');
  });

  it('rejects a meanBurst too short for the loss rate', () => {
    const e = errorOf('  backend: linkem\n  loss: { rate: 60%, meanBurst: 1 }\n');
    expect(e.message).toContain('network.loss.meanBurst is too short for a 60% loss rate');
    expect(e.message).toContain('current value is 1');
  });

  it('rejects a Gilbert-Elliott chain that never leaves Bad', () => {
    const e = errorOf('  backend: linkem\n  loss: { p: 1%, r: 0% }\n');
    expect(e.message).toContain('network.loss.r must be > 0 when p > 0');
  });

  it('rejects reorder without delay, and rate given twice for a direction', () => {
    expect(errorOf('  backend: netem\n  reorder: 5%\n').message).toContain('network.reorder needs a delay');
    expect(
      errorOf('  backend: linkem\n  rate: { down: 1mbit }\n  down: { rate: 2mbit }\n').message,
    ).toContain('network.down.rate conflicts with network.rate.down');
  });

  it('rejects packets and bytes at once for netem', () => {
    const e = errorOf('  backend: netem\n  rate: 10mbit\n  queue: { packets: 10, bytes: 30KB }\n');
    expect(e.message).toContain(
      'network.queue cannot limit packets and bytes at once with the netem backend',
    );
  });

  it('rejects unknown distribution names and direction keys', () => {
    expect(
      errorOf('  backend: netem\n  delay: 9ms\n  jitter: { amount: 1ms, distribution: cauchy }\n').message,
    ).toContain('network.jitter has an unsupported form');
    expect(errorOf('  backend: linkem\n  down: { rtt: 9ms }\n').message).toContain(
      'unknown key network.down.rtt',
    );
  });

  it('still rejects impairments, including direction blocks, with backend none', () => {
    const e = errorOf('  down: { delay: 5ms }\n');
    expect(e.message).toContain('network.down needs an emulation backend');
  });
});
