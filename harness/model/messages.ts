/**
 * What the orchestrator and its child processes say to each other. Children get a JSON config file
 * (argv[2]); servers print one JSON line per event on stdout and stop on "stop\n" on stdin or SIGTERM;
 * clients write their report to a file.
 */
import type { ClientReport, ServerReport } from './records.js';
import type { Protocol, Transport, Workload } from '../scenario/schema.js';

export interface ServerConfig {
  protocol: Protocol;
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  transport: Transport;
}

export interface ClientConfig {
  protocol: Protocol;
  host: string;
  port: number;
  serverName: string;
  caPem: string;
  transport: Transport;
  workload: Workload;
  /** Seed for the workload's random choices (same for every protocol of a repetition). */
  seed: number;
  /** Where the client writes its ClientReport JSON. */
  reportFile: string;
}

export type ServerEvent =
  | { event: 'ready'; port: number }
  | { event: 'stopped'; report: ServerReport }
  | { event: 'error'; message: string };

export type { ClientReport };
