import { describe, expect, it } from 'vitest';
import { H3Error, H3ErrorCode } from '../../../harness/proto/h3/errors.js';
import type { Header } from '../../../harness/proto/h3/qpack/qpack.js';
import { validateFieldSection, type SectionKind } from '../../../harness/proto/h3/validate.js';

const GET: Header[] = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':authority', 'example.com'],
  [':path', '/'],
];

function rejects(headers: Header[], kind: SectionKind): H3Error | undefined {
  try {
    validateFieldSection(headers, kind, 4);
  } catch (err) {
    if (err instanceof H3Error) return err;
    throw err;
  }
  return undefined;
}

describe('validateFieldSection', () => {
  it.each<[string, Header[], SectionKind]>([
    ['a GET with :authority', GET, 'request'],
    [
      'a GET with host instead of :authority',
      [...GET.filter(([n]) => n !== ':authority'), ['host', 'example.com']],
      'request',
    ],
    ['a GET with equal :authority and host', [...GET, ['host', 'example.com']], 'request'],
    [
      'a CONNECT with :authority only',
      [
        [':method', 'CONNECT'],
        [':authority', 'example.com:443'],
      ],
      'request',
    ],
    ['a request with te: trailers', [...GET, ['te', 'trailers']], 'request'],
    [
      'a non-http scheme without authority',
      [
        [':method', 'GET'],
        [':scheme', 'foo'],
        [':path', 'x'],
      ],
      'request',
    ],
    [
      'a 200 response',
      [
        [':status', '200'],
        ['content-length', '5'],
      ],
      'response',
    ],
    [
      'a 103 interim response',
      [
        [':status', '103'],
        ['link', '</a>; rel=preload'],
      ],
      'response',
    ],
    [
      'trailers',
      [
        ['x-checksum', 'abc'],
        ['grpc-status', '0'],
      ],
      'trailers',
    ],
    [
      'a value with inner spaces, tabs and obs-text',
      [
        [':status', '200'],
        ['x', 'a b\tc\u00e9'],
      ],
      'response',
    ],
  ])('accepts %s', (_what, headers, kind) => {
    expect(rejects(headers, kind)).toBeUndefined();
  });

  it('returns content-length, method and status', () => {
    expect(
      validateFieldSection([...GET, ['content-length', '10'], ['content-length', '10']], 'request'),
    ).toEqual({
      contentLength: 10,
      method: 'GET',
      status: 0,
    });
    expect(validateFieldSection([[':status', '204']], 'response')).toEqual({
      contentLength: -1,
      method: '',
      status: 204,
    });
  });

  it.each<[string, Header[], SectionKind]>([
    ['a request without :method', GET.slice(1), 'request'],
    ['a request without :scheme', GET.filter(([n]) => n !== ':scheme'), 'request'],
    ['a request without :path', GET.filter(([n]) => n !== ':path'), 'request'],
    ['an https request without :authority or host', GET.filter(([n]) => n !== ':authority'), 'request'],
    ['an empty :path', [...GET.slice(0, 3), [':path', '']], 'request'],
    [
      'an empty :authority',
      [
        [':method', 'GET'],
        [':scheme', 'https'],
        [':authority', ''],
        [':path', '/'],
      ],
      'request',
    ],
    [':authority and host that differ', [...GET, ['host', 'other.example']], 'request'],
    [
      'a CONNECT with :path',
      [
        [':method', 'CONNECT'],
        [':authority', 'a:443'],
        [':path', '/'],
      ],
      'request',
    ],
    ['a CONNECT without :authority', [[':method', 'CONNECT']], 'request'],
    ['a duplicate :path', [...GET, [':path', '/x']], 'request'],
    [
      'a pseudo-header after a regular field',
      [...GET.slice(0, 1), ['accept', '*/*'], ...GET.slice(1)],
      'request',
    ],
    ['a response pseudo-header in a request', [...GET, [':status', '200']], 'request'],
    ['an unknown pseudo-header', [...GET, [':protocol', 'websocket']], 'request'],
    ['an uppercase field name', [...GET, ['Accept', '*/*']], 'request'],
    ['a field name with a space', [...GET, ['x y', '1']], 'request'],
    ['an empty field name', [...GET, ['', '1']], 'request'],
    ['a value with CR LF', [...GET, ['x', 'a\r\nb']], 'request'],
    ['a value with NUL', [...GET, ['x', 'a\0b']], 'request'],
    ['connection', [...GET, ['connection', 'close']], 'request'],
    ['keep-alive', [...GET, ['keep-alive', 'timeout=5']], 'request'],
    ['proxy-connection', [...GET, ['proxy-connection', 'keep-alive']], 'request'],
    ['transfer-encoding', [...GET, ['transfer-encoding', 'chunked']], 'request'],
    ['upgrade', [...GET, ['upgrade', 'websocket']], 'request'],
    ['te other than trailers', [...GET, ['te', 'gzip']], 'request'],
    [
      'te in a response',
      [
        [':status', '200'],
        ['te', 'trailers'],
      ],
      'response',
    ],
    ['a non-numeric content-length', [...GET, ['content-length', '5x']], 'request'],
    [
      'conflicting content-length values',
      [...GET, ['content-length', '5'], ['content-length', '6']],
      'request',
    ],
    ['a response without :status', [['content-length', '0']], 'response'],
    ['a 101 response', [[':status', '101']], 'response'],
    ['a two-digit :status', [[':status', '20']], 'response'],
    [
      'a request pseudo-header in a response',
      [
        [':status', '200'],
        [':path', '/'],
      ],
      'response',
    ],
    ['a pseudo-header in trailers', [[':status', '200']], 'trailers'],
  ])('rejects %s as malformed (H3_MESSAGE_ERROR, stream scope)', (_what, headers, kind) => {
    const err = rejects(headers, kind);
    expect(err?.code).toBe(H3ErrorCode.H3_MESSAGE_ERROR);
    expect(err?.scope).toBe('stream');
    expect(err?.streamId).toBe(4);
  });
});
