/**
 * Workload `page-load`: the HTML document, then its subresources depth by depth. The requests of
 * depth k start all at once when the document and every request of depths < k have completed, as a
 * browser discovers CSS/JS in the HTML and images/fonts in those. Page load time = last response
 * complete. Per-depth times are reported as metrics (`wave<k>Ms`).
 */
import type { RequestRecord } from '../model/records.js';
import type { ProtocolClient } from '../proto/types.js';
import { wavesByDepth, type PageLoadWorkload } from '../scenario/workload.js';
import { bytesPath, newRequestRecord, runRequest } from './multiplex.js';

export async function runPageLoad(
  client: ProtocolClient,
  w: PageLoadWorkload,
  now: () => number,
): Promise<{ requests: RequestRecord[]; metrics: Record<string, number> }> {
  const requests: RequestRecord[] = [];
  const metrics: Record<string, number> = {};
  const fetchAll = async (sizes: number[]): Promise<void> => {
    const t = now();
    const recs = sizes.map((size) => newRequestRecord(requests.length, t, size));
    let i = requests.length;
    for (const r of recs) r.id = i++;
    requests.push(...recs);
    await Promise.all(
      recs.map((r) => runRequest(client, bytesPath(r.bytesExpected, w), r, w.timeoutMs, now)),
    );
  };
  const t0 = now();
  await fetchAll([w.documentBytes]);
  metrics.documentMs = now() - t0;
  for (const [k, wave] of wavesByDepth(w).entries()) {
    const start = now();
    await fetchAll(wave.flatMap((x) => Array<number>(x.count).fill(x.sizeBytes)));
    metrics[`wave${k + 1}Ms`] = now() - start;
  }
  metrics.pageLoadMs = now() - t0;
  return { requests, metrics };
}
