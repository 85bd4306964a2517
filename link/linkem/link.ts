/**
 * A whole linkem link: client namespace ── TUN a ⇄ linkem ⇄ TUN b ── server namespace, addressed
 * and ready for traffic. `up` = client → server (a → b), `down` = server → client (b → a).
 */
import { CLIENT_ADDRESS, SERVER_ADDRESS } from '../addresses.js';
import { createNamespace, deleteNamespace, uniqueName } from '../netns.js';
import type { LinkemOptions } from './args.js';
import type { LinkemStats } from './lines.js';
import { startLinkem, type LinkemHandle } from './process.js';
import { configureTunPair } from './tun.js';

export type LinkemLinkOptions = Pick<
  LinkemOptions,
  'profile' | 'logFile' | 'busyPollUs' | 'rxPollUs' | 'busyPollMaxPct' | 'fifo' | 'mlock'
>;

export interface LinkemLink {
  clientNetns: string;
  serverNetns: string;
  clientDev: string;
  serverDev: string;
  clientAddress: string;
  serverAddress: string;
  linkem: LinkemHandle;
  /** Stop linkem and delete both namespaces (idempotent). Returns linkem's STATS. */
  close(): Promise<LinkemStats>;
}

/**
 * Create a client and a server namespace, start linkem between them and configure addresses.
 * Everything created is removed again if a step fails.
 */
export async function openLinkemLink(options: LinkemLinkOptions): Promise<LinkemLink> {
  const clientNetns = uniqueName('cli');
  const serverNetns = uniqueName('srv');
  const clientDev = uniqueName('tun');
  const serverDev = uniqueName('tun');
  const created: string[] = [];
  let linkem: LinkemHandle | null = null;
  try {
    for (const ns of [clientNetns, serverNetns]) {
      await createNamespace(ns);
      created.push(ns);
    }
    linkem = await startLinkem({ ...options, clientNetns, serverNetns, clientDev, serverDev });
    await configureTunPair({
      clientNetns,
      serverNetns,
      clientDev,
      serverDev,
      mtuBytes: options.profile.mtuBytes,
    });
  } catch (err) {
    await linkem?.stop().catch(() => undefined);
    for (const ns of created) await deleteNamespace(ns).catch(() => undefined);
    throw err;
  }
  const handle = linkem;
  let closing: Promise<LinkemStats> | null = null;
  return {
    clientNetns,
    serverNetns,
    clientDev,
    serverDev,
    clientAddress: CLIENT_ADDRESS,
    serverAddress: SERVER_ADDRESS,
    linkem: handle,
    close: () => {
      closing ??= (async () => {
        try {
          return await handle.stop();
        } finally {
          for (const ns of created) await deleteNamespace(ns);
        }
      })();
      return closing;
    },
  };
}
