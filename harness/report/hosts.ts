/**
 * The hosts of a result whose runs were run on several machines or in several sessions (schema 8
 * `ResultFile.hosts`: a merge of shards, a resumed result): one row each in report.md, and a flag
 * when they differ in what can change a measurement (CPU model, cores, kernel, emulator backend).
 */
import type { HostRecord, ResultFile } from '../model/result.js';
import { markdownTable } from './table.js';

/** "shard 1/3" or "-" for a session that ran no shard. */
const shardLabel = (h: HostRecord): string => (h.shard ? `${h.shard.index}/${h.shard.count}` : '-');

/**
 * How the hosts differ, one line per property that is not the same on all of them (none when they
 * agree or there is one): "CPU model: A (shards 0/2, 2/2), B (shard 1/2)".
 */
export function hostDifferences(hosts: readonly HostRecord[]): string[] {
  const props: [string, (h: HostRecord) => string][] = [
    ['CPU model', (h) => h.cpuModel ?? 'unknown'],
    ['cores', (h) => String(h.cpus)],
    ['kernel', (h) => h.kernel],
    // A host whose runs never brought a link up used none: it does not count as a difference.
    ['emulator backend', (h) => h.backends.join('+')],
  ];
  const out: string[] = [];
  for (const [label, get] of props) {
    const groups = new Map<string, HostRecord[]>();
    for (const h of hosts) {
      const v = get(h);
      if (v === '') continue;
      groups.set(v, [...(groups.get(v) ?? []), h]);
    }
    if (groups.size < 2) continue;
    const parts = [...groups].map(([v, hs]) => {
      const where = hs.map((h) => (h.shard ? `shard ${shardLabel(h)}` : (h.hostname ?? h.runId)));
      return `${v} (${where.join(', ')})`;
    });
    out.push(`${label}: ${parts.join('; ')}`);
  }
  return out;
}

/** What the hosts section says: the sentence, the table and the differences, or null without hosts. */
export interface HostsReport {
  intro: string;
  header: string[];
  rows: string[][];
  /** How the hosts differ, or null when they agree. */
  differ: string | null;
}

export function hostsReport(result: ResultFile): HostsReport | null {
  const hosts = result.hosts;
  if (!hosts?.length) return null;
  const what = result.merged
    ? `merges ${result.merged.pieces.length} of ${result.merged.shardCount} shard(s)` +
      (result.merged.missingShards.length ? ` (missing: ${result.merged.missingShards.join(', ')})` : '')
    : result.resumed
      ? `completes the partial result ${result.resumed.fromDir} (${result.resumed.kept} run(s) kept, ${result.resumed.rerun.length} run again)`
      : 'was run in several sessions';
  const rows = hosts.map((h) => [
    shardLabel(h),
    h.runId,
    h.hostname ?? '-',
    h.cpuModel ?? '-',
    String(h.cpus),
    h.kernel,
    h.backends.join('+') || '-',
    (h.gitCommit ?? '-').slice(0, 12),
    String(h.runIndices.length),
  ]);
  const diff = hostDifferences(hosts);
  return {
    intro: `This result ${what}; the runs of each came from these machines. Each repetition (every paired comparison) ran on one.`,
    header: ['shard', 'run id', 'host', 'CPU', 'cores', 'kernel', 'backend', 'commit', 'runs'],
    rows,
    differ: diff.length
      ? `Hosts differ — ${diff.join('; ')}. The tables pool runs of different machines; paired contrasts compare runs of one repetition, hence of one machine.`
      : null,
  };
}

/** The "Hosts" section of report.md (no lines when the result records no hosts). */
export function hostsSection(result: ResultFile): string[] {
  const h = hostsReport(result);
  if (h === null) return [];
  const lines = ['## Hosts', '', h.intro, '', markdownTable(h.header, h.rows), ''];
  if (h.differ !== null) lines.push(`**${h.differ.replace(' — ', '** — ')}`, '');
  return lines;
}
