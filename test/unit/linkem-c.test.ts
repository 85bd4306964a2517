/**
 * linkem's C checks (link/linkem/src/selftest.c): loss models against their closed forms, the
 * lateness histogram, the flow hash, rate serialization, jitter without reordering and drop-tail
 * limits. Needs a C compiler, not root.
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { linkemSourceDir } from '../../link/linkem/build.js';
import { run } from '../../link/netns.js';

const cc = await run(['cc', '--version']).then(
  () => null,
  () => 'no C compiler (cc) on PATH',
);
if (cc !== null) console.warn(`linkem C self-test skipped: ${cc}`);

describe.skipIf(cc !== null)('linkem-selftest', () => {
  it('linkem-selftest passes every check', async () => {
    await run(['make', '-C', linkemSourceDir(), 'build/linkem-selftest'], { timeoutMs: 120_000 });
    const { stdout } = await run([path.join(linkemSourceDir(), 'build', 'linkem-selftest')]);
    expect(stdout.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(stdout).toMatch(/^PASSED$/m);
    expect(stdout).toMatch(/^FLOW 71475311$/m);
  });
});
