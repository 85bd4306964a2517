/**
 * Workload `page-load`: the generated page (harness/proto/pages.ts), as a browser loads it: the HTML
 * document, then its subresources depth by depth. The requests of depth k start all at once when the
 * document and every request of depths < k have completed, as a browser discovers CSS/JS/images in
 * the HTML and further ones through those (the page's own loader script follows the same rule, so a
 * browser loading `/page/index.html` from the same server requests the same files in the same
 * order). Page load time = last response complete. Per-depth times are reported as metrics
 * (`wave<k>Ms`).
 */
import type { RequestRecord } from '../model/records.js';
import { DOCUMENT_PATH, pageFiles, type PageFile } from '../proto/pages.js';
import type { ProtocolClient } from '../proto/types.js';
import type { PageLoadWorkload } from '../scenario/workload.js';
import { newRequestRecord, runRequest } from './multiplex.js';

/** A page file's request path: with `?cpu=<ms>` when the workload asks the server to burn CPU (as bytesPath). */
export function pageRequestPath(path: string, w: { serverCpuMs?: number }): string {
  const cpu = w.serverCpuMs ?? 0;
  return cpu > 0 ? `${path}?cpu=${String(Number(cpu.toFixed(6)))}` : path;
}

export async function runPageLoad(
  client: ProtocolClient,
  w: PageLoadWorkload,
  now: () => number,
): Promise<{ requests: RequestRecord[]; metrics: Record<string, number> }> {
  const requests: RequestRecord[] = [];
  const metrics: Record<string, number> = {};
  const files = pageFiles(w);
  const fetchAll = async (batch: PageFile[]): Promise<void> => {
    const t = now();
    const recs = batch.map((f, i) => newRequestRecord(requests.length + i, t, f.bytes));
    requests.push(...recs);
    await Promise.all(
      recs.map((r, i) =>
        runRequest(client, pageRequestPath(batch[i]?.path ?? DOCUMENT_PATH, w), r, w.timeoutMs, now),
      ),
    );
  };
  const byDepth: PageFile[][] = [];
  for (const f of files) (byDepth[f.depth] ??= []).push(f);
  const t0 = now();
  await fetchAll(byDepth[0] ?? []);
  metrics.documentMs = now() - t0;
  for (let k = 1; k < byDepth.length; k++) {
    const start = now();
    await fetchAll(byDepth[k] ?? []);
    metrics[`wave${k}Ms`] = now() - start;
  }
  metrics.pageLoadMs = now() - t0;
  return { requests, metrics };
}
