/** Locations inside the project, valid from sources (tsx/vitest) and from compiled `dist/`. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The directory holding package.json. */
export function projectRoot(): string {
  if (root !== undefined) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  root = dir;
  return dir;
}

/** Compiled JS of a harness module, e.g. `distPath('harness/runner/server-main.js')`. */
export function distPath(rel: string): string {
  return path.join(projectRoot(), 'dist', rel);
}
