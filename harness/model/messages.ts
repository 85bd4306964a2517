/**
 * What the orchestrator and its child processes say to each other. Children get a JSON config file
 * (argv[2]); servers print one JSON line per event on stdout and stop on "stop\n" on stdin or SIGTERM;
 * clients write their report to a file. Both watch their parent (stdin EOF, parent pid) and exit
 * when it is gone. What comes back across the process boundary (event lines, the client's report)
 * is validated with the zod schemas below before the orchestrator uses it.
 */
import { z } from 'zod';
import type { ClientReport, ServerReport } from './records.js';
import type {
  ClientStack,
  H3Stack,
  Protocol,
  SchedulingPolicy,
  ServerStack,
  Transport,
  Workload,
} from '../scenario/schema.js';
import type { PageSpec } from '../scenario/workload.js';
import { clientReportSchema, serverReportSchema } from './schema.js';

export interface ServerConfig {
  protocol: Protocol;
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  transport: Transport;
  /** `server.scheduling` of the scenario. */
  scheduling: SchedulingPolicy;
  /** Directory for QUIC qlogs (`report.qlog: true`), null for none. */
  qlogDir: string | null;
  /** The HTTP/3 engine (`stacks.h3`); ignored by h1 and h2. */
  h3Stack: H3Stack;
  /** Who serves (`stacks.server`). */
  serverStack: ServerStack;
  /** The generated page served under /page/ (page-load workloads), or null. */
  page: PageSpec | null;
  /**
   * Response sizes `/bytes/<n>` must exist for (a server of pre-generated files, Caddy); our own
   * servers answer any n.
   */
  bodySizes: number[];
}

export interface ClientConfig {
  protocol: Protocol;
  host: string;
  port: number;
  serverName: string;
  caPem: string;
  /**
   * The server's certificate (public). Chromium (`stacks.client: chromium`) trusts it by its SPKI
   * hash: the hash list is matched against the certificates the server sends (the leaf alone), so
   * the CA's hash would not do.
   */
  certPem: string;
  transport: Transport;
  workload: Workload;
  /** Seed for the workload's random choices (same for every protocol of a repetition). */
  seed: number;
  /** Where the client writes its ClientReport JSON. */
  reportFile: string;
  /** Directory for QUIC qlogs (`report.qlog: true`), null for none. */
  qlogDir: string | null;
  /** The HTTP/3 engine (`stacks.h3`); ignored by h1 and h2. */
  h3Stack: H3Stack;
  /** Who requests (`stacks.client`): h3bench's own client or a real Chromium. */
  clientStack: ClientStack;
}

export type ServerEvent =
  | { event: 'ready'; port: number }
  | { event: 'stopped'; report: ServerReport }
  | { event: 'error'; message: string };

export type { ClientReport };

/** One line of a server's stdout (`ServerEvent`). */
export const serverEventSchema = z.discriminatedUnion('event', [
  z.looseObject({ event: z.literal('ready'), port: z.number().int().min(1).max(65535) }),
  z.looseObject({ event: z.literal('stopped'), report: serverReportSchema }),
  z.looseObject({ event: z.literal('error'), message: z.string() }),
]);

/** A client's report file (`ClientReport`), the same schema result.json uses for it. */
export const clientMessageSchema = clientReportSchema;

/** Compile-time checks: what the schemas yield is what the types say. */
export function asServerEvent(e: z.output<typeof serverEventSchema>): ServerEvent {
  return e;
}
export function asClientReport(r: z.output<typeof clientMessageSchema>): ClientReport {
  return r;
}
