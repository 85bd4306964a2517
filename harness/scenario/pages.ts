/**
 * The generated page of a `page-load` workload: what it is made of (the document and its
 * subresources by depth), the files it consists of, the bare content of each file and so the
 * smallest size each can be declared with.
 *
 * This lives at the scenario layer because a scenario whose sizes cannot hold its page must be
 * refused when it loads (workload.ts); serving the page (padding each file to its exact size) is
 * harness/proto/pages.ts, the module other code uses.
 *
 * The page, for a browser and for h3bench's own page-load client alike:
 *
 * - `/page/index.html`: an HTML5 document. Its depth-1 subresources are referenced in the markup,
 *   so a browser's preload scanner finds them: CSS as `<link rel="stylesheet">` in the head, JS as
 *   `<script defer src>` in the head (defer: fetched as soon as the scanner sees it, like a
 *   classic script, but it does not block parsing, and its `load` fires once it ran), images as
 *   `<img src width height>` in the body. An inline loader script, first in the head, counts the
 *   `load`/`error` events of every subresource; when the document has been parsed
 *   (DOMContentLoaded) and every file of depths ≤ k has fired one of them, it inserts depth k + 1
 *   (the rule h3bench's own client follows: harness/workload/page-load.ts). When the last depth
 *   completed it calls `performance.mark('h3bench-page-complete')` and sets
 *   `<html data-h3bench="complete">`; a file that fires `error` is listed (space-separated URLs) in
 *   `<html data-h3bench-errors>` and counts as done.
 * - `/page/d<depth>-<wave>-<i>.css|.js|.svg`: file i of entry <wave> (its index in
 *   `workload.waves`) at that depth: a CSS rule, a JS statement, an SVG image (320×180, a coloured
 *   rectangle, so it decodes and can be the largest contentful paint).
 *
 * Every file is its bare content followed by padding up to its declared size: a comment (HTML and
 * SVG `<!-- -->`, CSS and JS `/* *\/`) of pseudo-random letters and digits, or, when the gap is
 * shorter than an empty comment, newlines. All content is ASCII, so characters are bytes.
 *
 * Page profiles (`workload.page: NAME`): scenarios/pages/NAME.yaml, a document size and waves, read
 * and checked here (loadPageProfile).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, isNode, parseDocument } from 'yaml';
import { z } from 'zod';
import { ScenarioError } from '../../core/errors.js';
import { count, sizeBytes } from '../../core/fields.js';
import { projectRoot } from '../../core/paths.js';
/**
 * Kinds of page subresource: how a generated page references them and what Content-Type they are
 * served with. A browser loads each as its kind (CSS parsed, JS run, images decoded); h3bench's own
 * page-load client only fetches the bytes.
 */
export const RESOURCE_TYPES = ['css', 'js', 'img'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** One entry of `workload.waves`, resolved: `count` files of `sizeBytes` each at `depth`. */
export interface PageWave {
  count: number;
  sizeBytes: number;
  type: ResourceType;
  /** 1 = referenced by the document; k + 1 = inserted once depth k loaded. */
  depth: number;
}

/** What a generated page is made of: the document and its subresources by depth. */
export interface PageSpec {
  documentBytes: number;
  waves: readonly PageWave[];
}

/** A page's subresources grouped by depth: element k holds the entries of depth k + 1. */
export function wavesByDepth<W extends Pick<PageWave, 'depth'>>(w: { waves: readonly W[] }): W[][] {
  const out: W[][] = [];
  for (const x of w.waves) (out[x.depth - 1] ??= []).push(x);
  return out;
}

/** Every page file is under this prefix. */
export const PAGE_PREFIX = '/page/';
/** The page's HTML document. */
export const DOCUMENT_PATH = '/page/index.html';
/** `performance.mark` name the document's loader sets once every subresource fired load or error. */
export const COMPLETE_MARK = 'h3bench-page-complete';
/** `document.documentElement.dataset` key (attribute `data-h3bench`) set to COMPLETE_STATE at the end. */
export const STATE_DATASET_KEY = 'h3bench';
export const STATE_ATTRIBUTE = 'data-h3bench';
export const COMPLETE_STATE = 'complete';
/** `dataset` key (attribute `data-h3bench-errors`): space-separated URLs of files that fired `error`. */
export const ERRORS_DATASET_KEY = 'h3benchErrors';
export const ERRORS_ATTRIBUTE = 'data-h3bench-errors';
/** `performance.mark` name the loader sets when every file of depth `k` (and of the depths before) loaded. */
export function depthMark(k: number): string {
  return `h3bench-depth-${k}`;
}
/** Size of every generated image, CSS pixels (the SVG's own size and the `<img>` attributes). */
export const IMAGE_WIDTH = 320;
export const IMAGE_HEIGHT = 180;
/** Id of the element deeper images are appended to. */
export const DEEPER_CONTAINER_ID = 'h3bench-deeper';

export type PageFileKind = 'html' | ResourceType;

export const CONTENT_TYPES: Record<PageFileKind, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css',
  js: 'text/javascript',
  img: 'image/svg+xml',
};

const EXTENSIONS: Record<ResourceType, string> = { css: 'css', js: 'js', img: 'svg' };

/** Path of file `i` of entry `wave` (its index in `waves`) at `depth`. */
export function resourcePath(depth: number, wave: number, i: number, type: ResourceType): string {
  return `${PAGE_PREFIX}d${depth}-${wave}-${i}.${EXTENSIONS[type]}`;
}

/** FNV-1a, 32 bits: a stable number from a path (colours, filler offsets). */
export function pathHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Bare CSS of every stylesheet: one harmless rule (the same length for every file). */
const CSS_BARE = 'html{color:#1a1a1a;background:#fff}\n';
/** Bare JS of every script: counts the scripts that ran (`self.h3benchScripts`). */
const JS_BARE = 'self.h3benchScripts=(self.h3benchScripts||0)+1;\n';

function svgBare(path: string): string {
  const colour = (pathHash(path) & 0xffffff).toString(16).padStart(6, '0');
  const w = IMAGE_WIDTH;
  const h = IMAGE_HEIGHT;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">` +
    `<rect width="${w}" height="${h}" fill="#${colour}"/></svg>\n`
  );
}

/** Bare content of a subresource: the smallest valid file of its kind. */
export function resourceBare(type: ResourceType, path: string): string {
  switch (type) {
    case 'css':
      return CSS_BARE;
    case 'js':
      return JS_BARE;
    case 'img':
      return svgBare(path);
  }
}

/** Smallest declared size of a subresource of this type (its bare content is the same length for every file). */
export function minimumResourceBytes(type: ResourceType): number {
  return resourceBare(type, resourcePath(1, 0, 0, type)).length;
}

/** A file of the page, in order: the document, then the subresources depth by depth. */
export interface PageLayoutFile {
  path: string;
  kind: PageFileKind;
  contentType: string;
  /** 0 = the document. */
  depth: number;
  /** Declared size, bytes. */
  bytes: number;
  /** Index in `waves` of the entry the file belongs to; -1 for the document. */
  wave: number;
}

/** The page's files: the document first, then every subresource in depth order (entries in list order). */
export function pageLayout(spec: PageSpec): PageLayoutFile[] {
  const out: PageLayoutFile[] = [
    {
      path: DOCUMENT_PATH,
      kind: 'html',
      contentType: CONTENT_TYPES.html,
      depth: 0,
      bytes: spec.documentBytes,
      wave: -1,
    },
  ];
  const order = spec.waves.map((w, i) => ({ w, i })).sort((a, b) => a.w.depth - b.w.depth || a.i - b.i);
  for (const { w, i: wave } of order) {
    for (let i = 0; i < w.count; i++) {
      out.push({
        path: resourcePath(w.depth, wave, i, w.type),
        kind: w.type,
        contentType: CONTENT_TYPES[w.type],
        depth: w.depth,
        bytes: w.sizeBytes,
        wave,
      });
    }
  }
  return out;
}

/** The inline loader script of the document (see the module comment). */
export function loaderScript(files: readonly PageLayoutFile[]): string {
  const byDepth: string[][] = [];
  for (const f of files) if (f.depth > 0) (byDepth[f.depth - 1] ??= []).push(f.path);
  const counts = byDepth.map((l) => l.length);
  const deeper = byDepth.slice(1);
  // R[j]: files of depth j + 1 not yet loaded; k: depths completed. Depth 1 loads from the start
  // (it is in the markup); depth k + 1 is inserted once the document is parsed and R[k - 1] is 0.
  return [
    '(function(){',
    `var D=${JSON.stringify(deeper)},R=${JSON.stringify(counts)},C=R.length,k=0,ready=0,bad=[],`,
    'd=document,h=d.documentElement;',
    'function on(e){',
    "var t=e.target,u=t&&t.getAttribute&&(t.getAttribute('src')||t.getAttribute('href')),",
    'm=u&&/^\\/page\\/d(\\d+)-/.exec(u);',
    'if(!m||t.h3benchDone)return;t.h3benchDone=1;',
    `if(e.type==='error'){bad.push(u);h.dataset.${ERRORS_DATASET_KEY}=bad.join(' ');}`,
    'R[m[1]-1]--;go();}',
    'function add(u){var x=u.slice(u.lastIndexOf(".")+1),e;',
    "if(x==='css'){e=d.createElement('link');e.rel='stylesheet';e.href=u;d.head.appendChild(e);}",
    "else if(x==='js'){e=d.createElement('script');e.src=u;d.head.appendChild(e);}",
    `else{e=d.createElement('img');e.width=${IMAGE_WIDTH};e.height=${IMAGE_HEIGHT};e.alt='';e.src=u;`,
    `d.getElementById('${DEEPER_CONTAINER_ID}').appendChild(e);}}`,
    'function go(){',
    `while(ready&&k<C&&R[k]===0){k++;performance.mark('h3bench-depth-'+k);if(k<C)D[k-1].forEach(add);}`,
    `if(ready&&k===C&&h.dataset.${STATE_DATASET_KEY}!=='${COMPLETE_STATE}'){`,
    `performance.mark('${COMPLETE_MARK}');h.dataset.${STATE_DATASET_KEY}='${COMPLETE_STATE}';}}`,
    "d.addEventListener('load',on,true);d.addEventListener('error',on,true);",
    "d.addEventListener('DOMContentLoaded',function(){ready=1;go();});",
    '})();',
  ].join('\n');
}

/** Bare HTML of the document (everything but the padding): what its declared size must hold. */
export function documentBare(files: readonly PageLayoutFile[]): string {
  const first = files.filter((f) => f.depth === 1);
  const head = first
    .filter((f) => f.kind !== 'img')
    .map((f) =>
      f.kind === 'css'
        ? `<link rel="stylesheet" href="${f.path}">`
        : `<script defer src="${f.path}"></script>`,
    );
  const images = first
    .filter((f) => f.kind === 'img')
    .map((f) => `<img src="${f.path}" width="${IMAGE_WIDTH}" height="${IMAGE_HEIGHT}" alt="">`);
  const sub = files.length - 1;
  const depths = files.reduce((m, f) => Math.max(m, f.depth), 0);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>h3bench page</title>',
    `<script>\n${loaderScript(files)}\n</script>`,
    ...head,
    '</head>',
    '<body>',
    '<h1>h3bench generated page</h1>',
    `<p>A synthetic page for measuring page loads: ${sub} subresources over ${depths} depths.</p>`,
    ...images,
    `<div id="${DEEPER_CONTAINER_ID}"></div>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Bare content of a page file (the layout's document, or a subresource). */
export function fileBare(file: PageLayoutFile, files: readonly PageLayoutFile[]): string {
  return file.kind === 'html' ? documentBare(files) : resourceBare(file.kind, file.path);
}

/** A declared size too small for the bare content of a page file. */
export interface PageSizeIssue {
  /** Key path inside the workload: ['document'] or ['waves', i, 'size']. */
  path: (string | number)[];
  /** The page file that does not fit (for a wave entry: its first file). */
  file: string;
  minimum: number;
  value: number;
}

/** Every declared size of the page that cannot hold its file's bare content (one issue per key). */
export function pageSizeIssues(spec: PageSpec): PageSizeIssue[] {
  const files = pageLayout(spec);
  const issues: PageSizeIssue[] = [];
  const doc = documentBare(files).length;
  if (spec.documentBytes < doc) {
    issues.push({ path: ['document'], file: DOCUMENT_PATH, minimum: doc, value: spec.documentBytes });
  }
  spec.waves.forEach((w, i) => {
    const min = minimumResourceBytes(w.type);
    if (w.sizeBytes < min) {
      issues.push({
        path: ['waves', i, 'size'],
        file: resourcePath(w.depth, i, 0, w.type),
        minimum: min,
        value: w.sizeBytes,
      });
    }
  });
  return issues;
}

/** The text of a size issue, after its key path: "must be at least N bytes ...". */
export function pageSizeMessage(issue: PageSizeIssue): string {
  const what = issue.path[0] === 'document' ? 'the document' : 'each file of this entry';
  return `must be at least ${issue.minimum} bytes to hold ${what} of the generated page (${issue.file})`;
}

// --- The page's keys: document and waves ------------------------------------------------------------

/** Largest size of one page file (10 GB), as for /bytes bodies. */
export const MAX_PAGE_FILE_BYTES = 10 ** 10;

/** A page file's declared size: `20KB`, `1.5MB`, a number of bytes. */
export const pageDocumentSize = () => sizeBytes().pipe(z.number().max(MAX_PAGE_FILE_BYTES));

/** One entry of `waves` as written: `count` files of `size` of a `type` at a `depth`. */
export const pageWave = z
  .object({
    count: count(1).max(1000),
    size: pageDocumentSize(),
    type: z.enum(RESOURCE_TYPES).optional(),
    depth: count(1).max(20).optional(),
  })
  .strict();

/**
 * Resolves the waves: an entry's `depth` (1 = referenced by the document) defaults to the one after
 * the entry before it (the first: 1), so entries without it are dependent waves one after another;
 * entries with the same depth are requested together. `type` defaults to js at depth 1 and img
 * deeper (scripts and styles reveal images). Depths must start at 1 and never skip or go back.
 */
export function resolveWaves(input: z.output<typeof pageWave>[], ctx: z.RefinementCtx): PageWave[] {
  let prev = 0;
  return input.map((w, i) => {
    const depth = w.depth ?? prev + 1;
    if (depth !== prev && depth !== prev + 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['waves', i, 'depth'],
        message: `must be ${prev === 0 ? '1' : `${prev} or ${prev + 1}`} (depths start at 1, never skip or go back): current value is ${depth}`,
      });
    }
    prev = depth;
    return { count: w.count, sizeBytes: w.size, type: w.type ?? (depth === 1 ? 'js' : 'img'), depth };
  });
}

// --- Page profiles: scenarios/pages/<name>.yaml -----------------------------------------------------

/** A page profile: a named page (document and waves) with where its numbers come from. */
export interface PageProfile extends PageSpec {
  name: string;
  file: string;
  description: string;
  source: string;
}

const PAGE_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The directory of the shipped page profiles. */
export function pagesDir(): string {
  return path.join(projectRoot(), 'scenarios', 'pages');
}

/** Names of the page profiles in scenarios/pages/, sorted. */
export function pageProfileNames(dir: string = pagesDir()): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .filter((n) => PAGE_NAME_RE.test(n))
    .sort();
}

/** The file of page profile `name`, or null when the name is not one (bad form or no such file). */
export function pageProfileFile(name: string, dir: string = pagesDir()): string | null {
  if (!PAGE_NAME_RE.test(name)) return null;
  const file = path.join(dir, `${name}.yaml`);
  return existsSync(file) ? file : null;
}

const profileSchema = z
  .object({
    description: z.string().min(1),
    source: z.string().min(1),
    document: pageDocumentSize(),
    waves: z.array(pageWave).min(1).max(20),
  })
  .strict()
  .transform((p, ctx) => {
    const spec: PageSpec = { documentBytes: p.document, waves: resolveWaves(p.waves, ctx) };
    for (const issue of pageSizeIssues(spec)) {
      ctx.addIssue({ code: 'custom', path: issue.path, message: pageSizeMessage(issue) });
    }
    return { description: p.description, source: p.source, ...spec };
  });

/** A path as the user would type it: relative to the working directory when under it. */
function shown(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/**
 * Read and check page profile `name` (scenarios/pages/<name>.yaml; `dir`: another directory, for
 * tests). Every failure is a
 * ScenarioError naming the profile file (with line:column), the key, the expected form and the value.
 */
export function loadPageProfile(name: string, dir: string = pagesDir()): PageProfile {
  const file = pageProfileFile(name, dir);
  if (file === null) {
    const names = pageProfileNames(dir);
    throw new ScenarioError(
      `Cannot load page profile "${name}": no ${shown(path.join(dir, `${name}.yaml`))} (page profiles: ${names.join(', ') || 'none'})`,
    );
  }
  const lines = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lines, uniqueKeys: true });
  const at = (keyPath: readonly PropertyKey[]): string => {
    for (let n = keyPath.length; n >= 0; n--) {
      const node: unknown = doc.getIn(keyPath.slice(0, n) as (string | number)[], true);
      if (isNode(node) && node.range) {
        const pos = lines.linePos(node.range[0]);
        return `${shown(file)}:${pos.line}:${pos.col}`;
      }
    }
    return shown(file);
  };
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = lines.linePos(yamlError.pos[0]);
    throw new ScenarioError(
      `Cannot parse page profile "${shown(file)}:${pos.line}:${pos.col}" as YAML: ${yamlError.message.split('\n')[0] ?? ''}`,
    );
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  const parsed = profileSchema.safeParse(raw);
  if (!parsed.success) {
    const messages = parsed.error.issues.map((issue) => {
      const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
      let value: unknown = raw;
      for (const k of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[k];
      const current = value === undefined ? 'missing' : JSON.stringify(value);
      const what =
        issue.code === 'unrecognized_keys' ? `has unknown key ${issue.keys.join(', ')}` : issue.message;
      return `${at(issue.path)}: ${key} ${what}: current value is ${current}`;
    });
    throw new ScenarioError(`Cannot load page profile "${shown(file)}": ${messages.join('; ')}`);
  }
  return { name, file, ...parsed.data };
}
