/** Types of scripts/layers.mjs (plain JavaScript so that eslint.config.js can load it). */
import type { ESLint } from 'eslint';

export const ROOT: string;
export const LAYERS: readonly (readonly [prefix: string, what: string])[];
export function layerOf(rel: string): number;
export function layerViolation(fromRel: string, toRel: string): string | null;
export function importsOf(rel: string, source: string, exists?: (rel: string) => boolean): string[];
export function resolveSpecifier(
  fromRel: string,
  spec: string,
  exists: (rel: string) => boolean,
): string | null;
export function projectGraph(): Map<string, string[]>;
export function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[][];
export const plugin: ESLint.Plugin;
