/**
 * The generated web page of a `page-load` workload, as served: every file's path, kind, Content-Type
 * and exact bytes. h3bench's servers serve it under /page/ (handler.ts), its own page-load client
 * requests the same files (harness/workload/page-load.ts), a browser loads `/page/index.html`, and
 * a server of pre-generated files can write them with `pageBody`. What the page is made of and why
 * is in harness/scenario/pages.ts, where the smallest sizes are checked when a scenario loads.
 *
 * Each file is its bare content (scenario/pages.ts) then padding up to its declared size: a
 * comment (`<!-- … -->` in HTML and SVG, `/* … *\/` in CSS and JS) of pseudo-random ASCII letters,
 * digits and newlines, or newlines alone when the gap is shorter than an empty comment. The bytes
 * depend only on the page spec and the path. Bodies of any size are produced chunk by chunk
 * without being held whole (`pageReader`), as /bytes bodies are.
 */
import {
  fileBare,
  pageLayout,
  pageSizeIssues,
  pageSizeMessage,
  pathHash,
  type PageFileKind,
  type PageLayoutFile,
  type PageSpec,
} from '../scenario/pages.js';

// The page's names, for the servers and clients that import them from the protocol layer.
export {
  COMPLETE_MARK,
  COMPLETE_STATE,
  CONTENT_TYPES,
  DEEPER_CONTAINER_ID,
  DOCUMENT_PATH,
  ERRORS_ATTRIBUTE,
  ERRORS_DATASET_KEY,
  IMAGE_HEIGHT,
  IMAGE_WIDTH,
  PAGE_PREFIX,
  STATE_ATTRIBUTE,
  STATE_DATASET_KEY,
  depthMark,
  type PageFileKind,
  type PageSpec,
} from '../scenario/pages.js';

/** One file of a generated page. */
export interface PageFile {
  /** Absolute path under PAGE_PREFIX, e.g. `/page/d1-0-3.css`. */
  path: string;
  kind: PageFileKind;
  contentType: string;
  /** 0 = the document; k = a subresource of depth k. */
  depth: number;
  /** Exact body size, bytes (the declared size). */
  bytes: number;
}

/** A page file's body, produced in chunks. */
export interface PageFileReader {
  file: PageFile;
  /** Body bytes [offset, offset + len); may be a view of a shared buffer (do not modify). */
  chunk: (offset: number, len: number) => Buffer;
}

/** The page's files: the document first, then every subresource in depth order; paths are unique. */
export function pageFiles(spec: PageSpec): PageFile[] {
  return index(spec).files.map(publicFile);
}

/** The exact bytes of a page file (length === its `bytes`), or null for a path not in the page. */
export function pageBody(spec: PageSpec, path: string): Buffer | null {
  const r = pageReader(spec, path);
  if (r === null) return null;
  const parts: Buffer[] = [];
  const step = 1 << 20;
  for (let off = 0; off < r.file.bytes; off += step) {
    parts.push(Buffer.from(r.chunk(off, Math.min(step, r.file.bytes - off))));
  }
  return Buffer.concat(parts, r.file.bytes);
}

/** A reader of a page file's body, or null for a path (without query) not in the page. */
export function pageReader(spec: PageSpec, path: string): PageFileReader | null {
  return index(spec).byPath.get(path) ?? null;
}

// ---------------------------------------------------------------------------------------------

/** Filler period: a prime, longer than a 32 KiB deflate window. */
const FILLER_PERIOD = 65_521;
const FILLER_VIEW = 1 << 16;
const FILLER: Buffer = (() => {
  const alphabet = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789');
  const block = Buffer.alloc(FILLER_PERIOD);
  let x = 0x9e3779b9;
  for (let i = 0; i < FILLER_PERIOD; i++) {
    // xorshift32: a fixed sequence, so every server and every run serves the same bytes.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    block[i] = i % 80 === 79 ? 0x0a : (alphabet[x % alphabet.length] ?? 0x61);
  }
  const out = Buffer.alloc(FILLER_PERIOD + FILLER_VIEW);
  for (let i = 0; i < out.length; i++) out[i] = block[i % FILLER_PERIOD] ?? 0x61;
  return out;
})();

/** Filler bytes [start, start + len) of the endless filler (a view when it fits in one). */
function filler(start: number, len: number): Buffer {
  const parts: Buffer[] = [];
  let pos = start % FILLER_PERIOD;
  let left = len;
  while (left > 0) {
    const n = Math.min(left, FILLER_VIEW);
    parts.push(FILLER.subarray(pos, pos + n));
    pos = (pos + n) % FILLER_PERIOD;
    left -= n;
  }
  return parts.length === 1 ? (parts[0] ?? Buffer.alloc(0)) : Buffer.concat(parts);
}

const COMMENTS: Record<PageFileKind, [string, string]> = {
  html: ['<!-- ', ' -->\n'],
  img: ['<!-- ', ' -->\n'],
  css: ['/* ', ' */\n'],
  js: ['/* ', ' */\n'],
};

interface PageIndex {
  files: PageLayoutFile[];
  byPath: Map<string, PageFileReader>;
}

const INDEXES = new WeakMap<PageSpec, PageIndex>();

function publicFile(f: PageLayoutFile): PageFile {
  return { path: f.path, kind: f.kind, contentType: f.contentType, depth: f.depth, bytes: f.bytes };
}

/** The page's files and their readers, built once per spec object (a server keeps one). */
function index(spec: PageSpec): PageIndex {
  const cached = INDEXES.get(spec);
  if (cached) return cached;
  const issue = pageSizeIssues(spec)[0];
  if (issue !== undefined) {
    throw new RangeError(`page ${issue.path.join('.')} ${pageSizeMessage(issue)}`);
  }
  const files = pageLayout(spec);
  const byPath = new Map<string, PageFileReader>();
  for (const f of files) byPath.set(f.path, reader(f, files));
  const built = { files, byPath };
  INDEXES.set(spec, built);
  return built;
}

/**
 * Reader of one file: bare content, then padding. The bare content is built on the first read
 * (a page of thousands of files costs nothing until they are requested).
 */
function reader(f: PageLayoutFile, files: readonly PageLayoutFile[]): PageFileReader {
  let head: Buffer | null = null;
  let tail: Buffer = Buffer.alloc(0);
  let fillBytes = 0;
  const fillStart = pathHash(f.path);
  const build = (): Buffer => {
    const bare = Buffer.from(fileBare(f, files), 'ascii');
    const gap = f.bytes - bare.length;
    const [open, close] = COMMENTS[f.kind];
    if (gap >= open.length + close.length) {
      head = Buffer.concat([bare, Buffer.from(open)]);
      tail = Buffer.from(close);
      fillBytes = gap - open.length - close.length;
    } else {
      head = Buffer.concat([bare, Buffer.from('\n'.repeat(gap))]);
    }
    return head;
  };
  return {
    file: publicFile(f),
    chunk: (offset: number, len: number): Buffer => {
      const h = head ?? build();
      const end = Math.min(offset + len, f.bytes);
      if (offset >= end) return Buffer.alloc(0);
      const parts: Buffer[] = [];
      const fillEnd = h.length + fillBytes;
      if (offset < h.length) parts.push(h.subarray(offset, Math.min(end, h.length)));
      const a = Math.max(offset, h.length);
      const b = Math.min(end, fillEnd);
      if (a < b) parts.push(filler(fillStart + (a - h.length), b - a));
      const c = Math.max(offset, fillEnd);
      if (c < end) parts.push(tail.subarray(c - fillEnd, end - fillEnd));
      return parts.length === 1 ? (parts[0] ?? Buffer.alloc(0)) : Buffer.concat(parts);
    },
  };
}
