import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  COMPLETE_MARK,
  DOCUMENT_PATH,
  PAGE_PREFIX,
  depthMark,
  pageBody,
  pageFiles,
  pageReader,
  type PageSpec,
} from '../../harness/proto/pages.js';
import { BODY_CHUNK_BYTES, handle, handleHttp } from '../../harness/proto/handler.js';
import { pageRequestPath } from '../../harness/workload/page-load.js';
import { loaderScript, minimumResourceBytes, pageLayout } from '../../harness/scenario/pages.js';
import { workloadSchema, type PageLoadWorkload } from '../../harness/scenario/workload.js';

const SPEC: PageSpec = {
  documentBytes: 30_000,
  waves: [
    { count: 2, sizeBytes: 5_000, type: 'css', depth: 1 },
    { count: 3, sizeBytes: 20_000, type: 'js', depth: 1 },
    { count: 2, sizeBytes: 3_000, type: 'img', depth: 1 },
    { count: 4, sizeBytes: 70_000, type: 'img', depth: 2 },
    { count: 1, sizeBytes: 9_000, type: 'js', depth: 2 },
    { count: 2, sizeBytes: 1_000, type: 'css', depth: 3 },
  ],
};

const text = (path: string, spec: PageSpec = SPEC): string => {
  const b = pageBody(spec, path);
  if (b === null) throw new Error(`no ${path}`);
  return b.toString('latin1');
};

/** The bare content: everything before the padding comment (or the trailing newlines). */
const bare = (t: string): string => t.replace(/\n(?:<!-- [a-z0-9\n]* -->|\/\* [a-z0-9\n]* \*\/)?\n*$/, '\n');

describe('pageFiles', () => {
  it('lists the document first, then every subresource in depth order, with unique paths', () => {
    const files = pageFiles(SPEC);
    expect(files[0]).toEqual({
      path: DOCUMENT_PATH,
      kind: 'html',
      contentType: 'text/html; charset=utf-8',
      depth: 0,
      bytes: 30_000,
    });
    expect(files.length).toBe(1 + 2 + 3 + 2 + 4 + 1 + 2);
    const depths = files.map((f) => f.depth);
    expect(depths).toEqual([...depths].sort((a, b) => a - b));
    expect(new Set(files.map((f) => f.path)).size).toBe(files.length);
    for (const f of files) expect(f.path.startsWith(PAGE_PREFIX)).toBe(true);
    expect(files.map((f) => f.path)).toContain('/page/d1-0-1.css');
    expect(files.map((f) => f.path)).toContain('/page/d2-3-3.svg');
    expect(files.map((f) => f.path)).toContain('/page/d3-5-0.css');
  });

  it('gives each kind its content type and each file its declared size', () => {
    const types = {
      html: 'text/html; charset=utf-8',
      css: 'text/css',
      js: 'text/javascript',
      img: 'image/svg+xml',
    };
    for (const f of pageFiles(SPEC)) {
      expect(f.contentType).toBe(types[f.kind]);
      const wave = SPEC.waves.find((w) => w.depth === f.depth && w.type === f.kind);
      expect(f.bytes).toBe(f.depth === 0 ? SPEC.documentBytes : wave?.sizeBytes);
    }
  });

  it('keeps entries of the same depth and type apart', () => {
    const spec: PageSpec = {
      documentBytes: 5000,
      waves: [
        { count: 1, sizeBytes: 100, type: 'js', depth: 1 },
        { count: 1, sizeBytes: 200, type: 'js', depth: 1 },
      ],
    };
    expect(pageFiles(spec).map((f) => [f.path, f.bytes])).toEqual([
      [DOCUMENT_PATH, 5000],
      ['/page/d1-0-0.js', 100],
      ['/page/d1-1-0.js', 200],
    ]);
  });
});

describe('pageBody', () => {
  it('has exactly the declared bytes, ASCII only, and is deterministic', () => {
    for (const f of pageFiles(SPEC)) {
      const b = pageBody(SPEC, f.path);
      expect(b?.length).toBe(f.bytes);
      expect(b?.every((c) => c === 0x0a || (c >= 0x20 && c < 0x7f))).toBe(true);
      // A new spec object with the same content: the same bytes.
      expect(pageBody(structuredClone(SPEC), f.path)?.equals(b ?? Buffer.alloc(0))).toBe(true);
    }
  });

  it('gives files of the same kind and size different bytes', () => {
    expect(text('/page/d1-1-0.js')).not.toBe(text('/page/d1-1-1.js'));
  });

  it('is null for a path not in the page', () => {
    for (const p of ['/page/', '/page/d1-0-2.css', '/page/d9-0-0.css', '/bytes/10', '/page/index.html?x=1']) {
      expect(pageBody(SPEC, p)).toBeNull();
    }
  });

  it('reads the same bytes in any chunking', () => {
    const whole = pageBody(SPEC, '/page/d2-3-0.svg') ?? Buffer.alloc(0);
    const r = pageReader(SPEC, '/page/d2-3-0.svg');
    for (const step of [1, 7, 1000, 65_536]) {
      const parts: Buffer[] = [];
      for (let off = 0; off < whole.length; off += step) parts.push(r?.chunk(off, step) ?? Buffer.alloc(0));
      expect(Buffer.concat(parts).equals(whole)).toBe(true);
    }
  });

  it('pads sizes past the filler period and big ones without holding them', () => {
    const big: PageSpec = {
      documentBytes: 2000,
      waves: [{ count: 1, sizeBytes: 300_000, type: 'js', depth: 1 }],
    };
    const t = text('/page/d1-0-0.js', big);
    expect(t.length).toBe(300_000);
    expect(() => new vm.Script(t)).not.toThrow();
    const huge: PageSpec = {
      documentBytes: 2000,
      waves: [{ count: 1, sizeBytes: 5e9, type: 'img', depth: 1 }],
    };
    const r = pageReader(huge, '/page/d1-0-0.svg');
    expect(r?.file.bytes).toBe(5e9);
    expect(r?.chunk(5e9 - 5, 64).toString()).toBe(' -->\n');
  });

  it('pads with newlines when the gap is shorter than a comment, and not at all at the minimum', () => {
    for (const type of ['css', 'js', 'img'] as const) {
      const min = minimumResourceBytes(type);
      for (const size of [min, min + 1, min + 3, min + 12]) {
        const spec: PageSpec = {
          documentBytes: 3000,
          waves: [{ count: 1, sizeBytes: size, type, depth: 1 }],
        };
        const f = pageFiles(spec)[1];
        expect(pageBody(spec, f?.path ?? '')?.length).toBe(size);
      }
    }
  });

  it('refuses a spec whose sizes cannot hold the page', () => {
    expect(() => pageFiles({ documentBytes: 100, waves: [] })).toThrow(/document must be at least \d+ bytes/);
  });
});

describe('content', () => {
  it('CSS: balanced braces, a comment for the padding', () => {
    const t = text('/page/d1-0-0.css');
    expect(bare(t)).toMatch(/^[a-z]+\{[^{}]+\}\n$/);
    const body = t.slice(bare(t).length);
    expect(body).toMatch(/^\/\* [a-z0-9\n]+ \*\/\n$/);
  });

  it('JS: parses as a script', () => {
    for (const p of ['/page/d1-1-0.js', '/page/d2-4-0.js']) {
      const t = text(p);
      expect(() => new vm.Script(t)).not.toThrow();
      const self: { h3benchScripts?: number } = {};
      vm.runInNewContext(t, { self });
      expect(self.h3benchScripts).toBe(1);
    }
  });

  it('SVG: one well-formed root element of the image size, then an XML comment', () => {
    const t = text('/page/d2-3-1.svg');
    expect(t).toMatch(
      /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="320" height="180" viewBox="0 0 320 180"><rect width="320" height="180" fill="#[0-9a-f]{6}"\/><\/svg>\n<!-- [a-z0-9\n]+ -->\n$/,
    );
    // XML comments must not contain "--".
    expect(t.slice(t.indexOf('<!--') + 4, -4)).not.toContain('--');
  });

  it('HTML: a document that references every depth-1 file in its markup', () => {
    const t = text(DOCUMENT_PATH);
    expect(t.startsWith('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">')).toBe(true);
    expect(t).toMatch(/<\/body>\n<\/html>\n<!-- [a-z0-9\n]+ -->\n$/);
    const head = t.slice(0, t.indexOf('</head>'));
    for (const f of pageFiles(SPEC).filter((x) => x.depth === 1)) {
      if (f.kind === 'css') expect(head).toContain(`<link rel="stylesheet" href="${f.path}">`);
      if (f.kind === 'js') expect(head).toContain(`<script defer src="${f.path}"></script>`);
      if (f.kind === 'img') expect(t).toContain(`<img src="${f.path}" width="320" height="180" alt="">`);
    }
    // The loader comes before any reference, so it sees every load event.
    expect(t.indexOf('<script>')).toBeLessThan(t.indexOf('/page/d1-'));
    // Deeper files are not in the markup, only in the loader's list.
    expect(t.slice(t.indexOf('</script>'))).not.toMatch(/\/page\/d[23]-/);
    // Visible text for a first contentful paint.
    expect(t).toMatch(/<h1>[^<]+<\/h1>/);
  });

  it('HTML: the loader lists every deeper file under its depth, and parses', () => {
    const t = text(DOCUMENT_PATH);
    const src = t.slice(t.indexOf('<script>\n') + 9, t.indexOf('\n</script>'));
    expect(() => new vm.Script(src)).not.toThrow();
    const lists = JSON.parse(/var D=(\[.*?\]\]),R=/.exec(src)?.[1] ?? 'null') as string[][];
    const files = pageFiles(SPEC);
    expect(lists).toEqual([2, 3].map((d) => files.filter((f) => f.depth === d).map((f) => f.path)));
    expect(/R=(\[[^\]]*\])/.exec(src)?.[1]).toBe('[7,5,2]');
  });
});

// --- The loader, run against a minimal fake DOM ---------------------------------------------------

interface FakeEl {
  tag: string;
  src?: string;
  href?: string;
  rel?: string;
  width?: number;
  height?: number;
  alt?: string;
  h3benchDone?: number;
  getAttribute(name: string): string | null;
}

function fakeDom() {
  const listeners: Record<string, ((e: { type: string; target: unknown }) => void)[]> = {};
  const inserted: FakeEl[] = [];
  const marks: string[] = [];
  const dataset: Record<string, string> = {};
  const el = (tag: string): FakeEl => ({
    tag,
    getAttribute(name: string) {
      const v = (this as unknown as Record<string, unknown>)[name];
      return typeof v === 'string' ? v : null;
    },
  });
  const append = (e: FakeEl) => inserted.push(e);
  const document = {
    documentElement: { dataset },
    head: { appendChild: append },
    createElement: el,
    getElementById: (id: string) => (id === 'h3bench-deeper' ? { appendChild: append } : null),
    addEventListener(type: string, fn: (e: { type: string; target: unknown }) => void) {
      (listeners[type] ??= []).push(fn);
    },
  };
  const fire = (type: string, target: unknown) => {
    for (const fn of listeners[type] ?? []) fn({ type, target });
  };
  const performance = { mark: (name: string) => marks.push(name) };
  return { document, performance, fire, inserted, marks, dataset, el };
}

function runLoader(spec: PageSpec) {
  const dom = fakeDom();
  vm.runInNewContext(loaderScript(pageLayout(spec)), {
    document: dom.document,
    performance: dom.performance,
  });
  return dom;
}

const markup = (dom: ReturnType<typeof fakeDom>, path: string): FakeEl => {
  const e = dom.el(path.endsWith('.css') ? 'link' : path.endsWith('.js') ? 'script' : 'img');
  if (e.tag === 'link') e.href = path;
  else e.src = path;
  return e;
};

describe('the document loader', () => {
  it('inserts depth k + 1 once the document is parsed and all of depth k loaded, then completes', () => {
    const dom = runLoader(SPEC);
    const files = pageFiles(SPEC);
    const first = files.filter((f) => f.depth === 1).map((f) => markup(dom, f.path));
    // Depth-1 files may load before the document is parsed: nothing is inserted yet.
    for (const e of first) dom.fire('load', e);
    expect(dom.inserted).toEqual([]);
    dom.fire('DOMContentLoaded', dom.document);
    expect(dom.marks).toEqual([depthMark(1)]);
    const second = files.filter((f) => f.depth === 2).map((f) => f.path);
    expect(dom.inserted.map((e) => e.src ?? e.href)).toEqual(second);
    const img = dom.inserted.find((e) => e.tag === 'img');
    expect([img?.width, img?.height]).toEqual([320, 180]);
    expect(dom.inserted.find((e) => e.tag === 'link')).toBeUndefined();
    // A repeated event and a foreign element do not count.
    dom.fire('load', dom.inserted[0]);
    dom.fire('load', dom.inserted[0]);
    dom.fire('load', markup(dom, '/other.js'));
    dom.fire('load', dom.document);
    for (const e of dom.inserted.slice(1, -1)) dom.fire('load', e);
    expect(dom.inserted.length).toBe(second.length);
    // The last one fails: it counts as done and is reported.
    dom.fire('error', dom.inserted.at(-1));
    expect(dom.dataset.h3benchErrors).toBe(second.at(-1));
    expect(dom.marks).toEqual([depthMark(1), depthMark(2)]);
    const third = dom.inserted.slice(second.length);
    expect(third.map((e) => [e.tag, e.rel, e.href])).toEqual([
      ['link', 'stylesheet', '/page/d3-5-0.css'],
      ['link', 'stylesheet', '/page/d3-5-1.css'],
    ]);
    expect(dom.dataset.h3bench).toBeUndefined();
    for (const e of third) dom.fire('load', e);
    expect(dom.marks).toEqual([depthMark(1), depthMark(2), depthMark(3), COMPLETE_MARK]);
    expect(dom.dataset.h3bench).toBe('complete');
  });

  it('waits for the document even when depth 1 is done', () => {
    const spec: PageSpec = {
      documentBytes: 5000,
      waves: [{ count: 1, sizeBytes: 100, type: 'img', depth: 1 }],
    };
    const dom = runLoader(spec);
    dom.fire('load', markup(dom, '/page/d1-0-0.svg'));
    expect(dom.marks).toEqual([]);
    dom.fire('DOMContentLoaded', dom.document);
    expect(dom.marks).toEqual([depthMark(1), COMPLETE_MARK]);
  });

  it('completes on DOMContentLoaded for a page without subresources', () => {
    const dom = runLoader({ documentBytes: 5000, waves: [] });
    expect(dom.dataset.h3bench).toBeUndefined();
    dom.fire('DOMContentLoaded', dom.document);
    expect(dom.marks).toEqual([COMPLETE_MARK]);
    expect(dom.dataset.h3bench).toBe('complete');
  });
});

// --- Minimum sizes, refused when the workload is read ----------------------------------------------

const parse = (w: Record<string, unknown>) => workloadSchema.safeParse({ type: 'page-load', ...w });

describe('minimum sizes', () => {
  it('refuses a document too small for its page, naming the key, the file and the minimum', () => {
    const r = parse({ document: 500, waves: [{ count: 2, size: 1000, type: 'css' }] });
    expect(r.success).toBe(false);
    const issue = r.error?.issues[0];
    expect(issue?.path).toEqual(['document']);
    expect(issue?.message).toMatch(
      /^must be at least \d+ bytes to hold the document of the generated page \(\/page\/index\.html\)$/,
    );
  });

  it('refuses a wave entry too small for its kind, naming waves.<i>.size', () => {
    const r = parse({
      document: 10_000,
      waves: [
        { count: 2, size: 1000 },
        { count: 1, size: 20, type: 'img' },
      ],
    });
    expect(r.error?.issues.map((i) => [i.path, i.message])).toEqual([
      [
        ['waves', 1, 'size'],
        `must be at least ${minimumResourceBytes('img')} bytes to hold each file of this entry of the generated page (/page/d2-1-0.svg)`,
      ],
    ]);
  });

  it('accepts every size from the minimum up, and the defaults', () => {
    expect(parse({}).success).toBe(true);
    for (const type of ['css', 'js', 'img'] as const) {
      const min = minimumResourceBytes(type);
      expect(parse({ waves: [{ count: 1, size: min, type }] }).success).toBe(true);
      expect(parse({ waves: [{ count: 1, size: min - 1, type }] }).success).toBe(false);
    }
    const w = parse({ waves: [{ count: 1, size: 100, type: 'js' }] }).data as PageLoadWorkload;
    // The bare document: everything up to the end of </html>, when padded with a comment.
    const min = text(DOCUMENT_PATH, { ...w, documentBytes: 100_000 }).indexOf('</html>\n') + 8;
    expect(parse({ document: min, waves: [{ count: 1, size: 100, type: 'js' }] }).success).toBe(true);
    expect(parse({ document: min - 1, waves: [{ count: 1, size: 100, type: 'js' }] }).success).toBe(false);
  });
});

// --- Served by the handler ---------------------------------------------------------------------------

function served(res: ReturnType<typeof handle>): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off < res.bodyBytes; off += BODY_CHUNK_BYTES) {
    parts.push(res.chunk(off, Math.min(BODY_CHUNK_BYTES, res.bodyBytes - off)));
  }
  return Buffer.concat(parts);
}

describe('handler: /page/', () => {
  it('serves every file of the page with its type, length and no-store, echoing X-Request-ID', () => {
    for (const f of pageFiles(SPEC)) {
      const res = handle({ method: 'GET', path: f.path, requestId: 'r7' }, SPEC);
      expect(res.status).toBe(200);
      expect(res.headers).toEqual({
        'content-type': f.contentType,
        'content-length': String(f.bytes),
        'cache-control': 'no-store',
        'x-request-id': 'r7',
      });
      expect(served(res).equals(pageBody(SPEC, f.path) ?? Buffer.alloc(0))).toBe(true);
    }
  });

  it('answers HEAD with the headers and no body', () => {
    const res = handle({ method: 'HEAD', path: DOCUMENT_PATH, requestId: undefined }, SPEC);
    expect([res.status, res.headers['content-length'], res.bodyBytes]).toEqual([200, '30000', 0]);
  });

  it('answers 404 without a page, and for paths not in it', () => {
    expect(handle({ method: 'GET', path: DOCUMENT_PATH, requestId: undefined }).status).toBe(404);
    expect(handle({ method: 'GET', path: DOCUMENT_PATH, requestId: undefined }, null).status).toBe(404);
    for (const p of ['/page/', '/page/d1-0-9.css', '/page/index.html/x', '/page/../bytes/1', '/', '/pag']) {
      expect(handle({ method: 'GET', path: p, requestId: undefined }, SPEC).status, p).toBe(404);
    }
    // /bytes is served as before next to a page.
    expect(handle({ method: 'GET', path: '/bytes/10', requestId: undefined }, SPEC).bodyBytes).toBe(10);
  });

  it('answers 405 to other methods', () => {
    expect(handle({ method: 'POST', path: DOCUMENT_PATH, requestId: undefined }, SPEC).status).toBe(405);
  });

  it('burns ?cpu= before serving a page file, and refuses a bad one', () => {
    const t = performance.now();
    const res = handle({ method: 'GET', path: '/page/d1-0-0.css?cpu=20', requestId: undefined }, SPEC);
    expect(performance.now() - t).toBeGreaterThanOrEqual(20);
    expect(served(res).equals(pageBody(SPEC, '/page/d1-0-0.css') ?? Buffer.alloc(0))).toBe(true);
    const bad = handle({ method: 'GET', path: `${DOCUMENT_PATH}?cpu=x`, requestId: undefined }, SPEC);
    expect(bad.status).toBe(400);
    expect(served(bad).toString()).toMatch(/bad cpu/);
  });

  it('handleHttp passes the page and adds Alt-Svc', () => {
    const res = handleHttp('GET', DOCUMENT_PATH, ['a', 'b'], 4433, SPEC);
    expect([res.status, res.headers['alt-svc'], res.headers['x-request-id']]).toEqual([
      200,
      'h3=":4433"',
      'a',
    ]);
    expect(handleHttp('GET', DOCUMENT_PATH, undefined, undefined).status).toBe(404);
  });
});

describe('page-load client paths', () => {
  it('adds ?cpu= as /bytes requests do', () => {
    expect(pageRequestPath(DOCUMENT_PATH, {})).toBe(DOCUMENT_PATH);
    expect(pageRequestPath('/page/d1-0-0.css', { serverCpuMs: 2.5 })).toBe('/page/d1-0-0.css?cpu=2.5');
  });
});
