import { describe, expect, it } from 'vitest';
import { H3Error, H3ErrorCode } from '../../../harness/proto/h3/errors.js';
import {
  QpackDecoderStreamReader,
  QpackEncoderStreamReader,
  decodeFieldSection,
  encodeFieldSection,
  readPrefixedInt,
  type Header,
} from '../../../harness/proto/h3/qpack/qpack.js';
import {
  STATIC_TABLE,
  findStaticExact,
  findStaticName,
} from '../../../harness/proto/h3/qpack/static-table.js';
import { hex } from './pair.js';

function error(fn: () => unknown): H3Error | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof H3Error) return err;
    throw err;
  }
  return undefined;
}

const REQUEST: Header[] = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':authority', 'bench.example:4433'],
  [':path', '/bytes/1048576?run=7'],
  ['user-agent', 'h3bench/0.1'],
  ['accept', '*/*'],
  ['accept-encoding', 'gzip, deflate, br'],
  ['x-request-id', '0f8c2a4e-5c1b-4f4e-9a0d-7d2b3c4e5f60'],
  ['cookie', 'a=1'],
  ['cookie', 'b=2'],
];

const RESPONSE: Header[] = [
  [':status', '200'],
  ['content-type', 'application/octet-stream'],
  ['content-length', '1048576'],
  ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
  ['server', 'h3bench'],
  ['cache-control', 'no-store'],
  ['x-request-id', '42'],
  ['x-empty', ''],
  ['x-binary', 'caf\u00e9 \u00ff\t~'],
];

describe('STATIC_TABLE', () => {
  it('has the 99 entries of RFC 9204 Appendix A at their indices', () => {
    expect(STATIC_TABLE.length).toBe(99);
    expect(STATIC_TABLE[0]).toEqual([':authority', '']);
    expect(STATIC_TABLE[17]).toEqual([':method', 'GET']);
    expect(STATIC_TABLE[25]).toEqual([':status', '200']);
    expect(STATIC_TABLE[31]).toEqual(['accept-encoding', 'gzip, deflate, br']);
    expect(STATIC_TABLE[63]).toEqual([':status', '100']);
    expect(STATIC_TABLE[85]).toEqual([
      'content-security-policy',
      "script-src 'none'; object-src 'none'; base-uri 'none'",
    ]);
    expect(STATIC_TABLE[98]).toEqual(['x-frame-options', 'sameorigin']);
  });

  it('findStaticExact and findStaticName return the lowest matching index', () => {
    expect(findStaticExact(':status', '404')).toBe(27);
    expect(findStaticExact(':status', '201')).toBe(-1);
    expect(findStaticName(':status')).toBe(24);
    expect(findStaticName('content-type')).toBe(44);
    expect(findStaticName('x-unknown')).toBe(-1);
  });
});

describe('readPrefixedInt', () => {
  it('round-trips values around every prefix boundary (RFC 7541 §5.1)', () => {
    for (let prefix = 1; prefix <= 8; prefix++) {
      const max = (1 << prefix) - 1;
      for (const value of [0, max - 1, max, max + 1, max + 127, max + 128, 1337, 2 ** 32, 2 ** 53 - 1]) {
        if (value < 0) continue;
        // Build the encoding by hand: flags above the prefix set to ones must be ignored.
        const bytes: number[] = [];
        const flags = 0xff ^ max;
        if (value < max) bytes.push(flags | value);
        else {
          bytes.push(flags | max);
          let rest = value - max;
          while (rest >= 128) {
            bytes.push((rest % 128) | 0x80);
            rest = Math.floor(rest / 128);
          }
          bytes.push(rest);
        }
        const buf = Uint8Array.from(bytes);
        const cursor = { pos: 0 };
        expect(readPrefixedInt(buf, cursor, buf.length, prefix)).toBe(value);
        expect(cursor.pos).toBe(buf.length);
        for (let n = 0; n < buf.length; n++) {
          expect(readPrefixedInt(buf, { pos: 0 }, n, prefix)).toBe(-1);
        }
      }
    }
  });

  it('reads the RFC 7541 C.1 examples', () => {
    expect(readPrefixedInt(hex('0a'), { pos: 0 }, 1, 5)).toBe(10);
    expect(readPrefixedInt(hex('1f9a0a'), { pos: 0 }, 3, 5)).toBe(1337);
    expect(readPrefixedInt(hex('2a'), { pos: 0 }, 1, 8)).toBe(42);
  });
});

describe('encodeFieldSection / decodeFieldSection', () => {
  it.each([
    ['request', REQUEST],
    ['response', RESPONSE],
  ])('round-trips a typical %s header set', (_kind, headers) => {
    const encoded = encodeFieldSection(headers);
    expect(decodeFieldSection(encoded)).toEqual(headers);
  });

  it('round-trips long names and values crossing integer prefix boundaries', () => {
    const headers: Header[] = [];
    for (const n of [6, 7, 8, 126, 127, 128, 254, 255, 256, 5000]) {
      headers.push([`x-${'n'.repeat(n)}`, 'v'.repeat(n)]);
      headers.push(['content-type', 'Z'.repeat(n)]); // uncompressible: raw literal
    }
    expect(decodeFieldSection(encodeFieldSection(headers))).toEqual(headers);
  });

  it('encodeFieldSection uses an indexed line for an exact static match', () => {
    expect(encodeFieldSection([[':method', 'GET']])).toEqual(hex('0000 d1'));
    expect(encodeFieldSection([[':path', '/']])).toEqual(hex('0000 c1'));
    expect(encodeFieldSection([[':status', '200']])).toEqual(hex('0000 d9'));
  });

  it('encodeFieldSection uses a static name reference and a Huffman value when shorter', () => {
    // :authority is static index 0; "www.example.com" Huffman-codes to 12 bytes (RFC 7541 C.4.1).
    expect(encodeFieldSection([[':authority', 'www.example.com']])).toEqual(
      hex('0000 50 8c f1e3c2e5f23a6ba0ab90f4ff'),
    );
  });

  it('encodeFieldSection lowercases field names', () => {
    expect(decodeFieldSection(encodeFieldSection([['X-Request-ID', '1']]))).toEqual([['x-request-id', '1']]);
  });

  it('decodeFieldSection reads RFC 9204 Appendix B.1', () => {
    expect(decodeFieldSection(hex('0000 510b 2f69 6e64 6578 2e68 746d 6c'))).toEqual([
      [':path', '/index.html'],
    ]);
  });

  it('decodeFieldSection reads indexed, name-reference and literal-name lines, raw and Huffman', () => {
    const block = hex(
      [
        '0000',
        'd1 d7', // :method GET, :scheme https
        '50 8c f1e3c2e5f23a6ba0ab90f4ff', // :authority www.example.com (Huffman)
        '5f15 86 a8eb10649cbf', // cache-control (index 36 = 15 + 0x15) no-cache (Huffman)
        '23 666f6f 03 626172', // foo: bar (raw literal name and value)
        '2f01 25a849e95ba97d7f 89 25a849e95bb8e8b4bf', // custom-key: custom-value (Huffman name, 3+ prefix)
      ].join(''),
    );
    expect(decodeFieldSection(block)).toEqual([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
      ['foo', 'bar'],
      ['custom-key', 'custom-value'],
    ]);
  });

  it.each([
    ['a non-zero Required Insert Count (RFC 9204 B.2 stream 4)', '0381 10 11'],
    ['a negative Base', '0081 d1'],
    ['an indexed line into the dynamic table', '0000 80'],
    ['a name reference into the dynamic table', '0000 40 00'],
    ['a post-base indexed line', '0000 10'],
    ['a post-base name reference', '0000 00 00'],
    ['static index 99', '0000 ff24'],
    ['a string longer than the section', '0000 23 666f'],
    ['a section ending inside an integer', '0000 ff'],
    ['a Huffman string containing EOS', '0000 5f1d 84 ffffffff'],
    ['a Huffman string with zero padding', '0000 5f1d 81 00'],
    ['an empty section (no prefix)', ''],
  ])('decodeFieldSection rejects %s with QPACK_DECOMPRESSION_FAILED', (_what, block) => {
    const err = error(() => decodeFieldSection(hex(block)));
    expect(err?.code).toBe(H3ErrorCode.QPACK_DECOMPRESSION_FAILED);
    expect(err?.scope).toBe('connection');
  });

  it('decodeFieldSection rejects an integer above 2^53-1 as a stream error', () => {
    const err = error(() => decodeFieldSection(hex('0000 ff ffffffffffffffff7f')));
    expect(err?.code).toBe(H3ErrorCode.QPACK_DECOMPRESSION_FAILED);
    expect(err?.scope).toBe('stream');
  });

  it('decodeFieldSection refuses sections above maxFieldSectionSize with H3_EXCESSIVE_LOAD', () => {
    const block = encodeFieldSection([['x-big', 'v'.repeat(100)]]);
    expect(decodeFieldSection(block, { maxFieldSectionSize: 137 })).toHaveLength(1);
    expect(error(() => decodeFieldSection(block, { maxFieldSectionSize: 136 }))?.code).toBe(
      H3ErrorCode.H3_EXCESSIVE_LOAD,
    );
  });
});

describe('QpackEncoderStreamReader', () => {
  it('accepts Set Dynamic Table Capacity 0', () => {
    const reader = new QpackEncoderStreamReader(0);
    expect(() => {
      reader.push(hex('20 20'));
    }).not.toThrow();
    expect(reader.capacity).toBe(0);
  });

  it.each([
    ['Set Dynamic Table Capacity 220 (RFC 9204 B.2)', '3fbd01'],
    ['Insert with Name Reference (RFC 9204 B.2)', 'c00f 7777 772e 6578 616d 706c 652e 636f 6d'],
    ['Insert with Literal Name (RFC 9204 B.3)', '4a63 7573 746f 6d2d 6b65 790c'],
    ['Duplicate (RFC 9204 B.4)', '02'],
  ])('rejects %s with QPACK_ENCODER_STREAM_ERROR, fed byte by byte', (_what, bytes) => {
    const reader = new QpackEncoderStreamReader(0);
    const data = hex(bytes);
    const err = error(() => {
      for (let i = 0; i < data.length; i++) reader.push(data.subarray(i, i + 1));
    });
    expect(err?.code).toBe(H3ErrorCode.QPACK_ENCODER_STREAM_ERROR);
  });
});

describe('QpackDecoderStreamReader', () => {
  it('parses and drops Stream Cancellation, also split across pushes', () => {
    const reader = new QpackDecoderStreamReader();
    reader.push(hex('48')); // RFC 9204 B.4: Stream Cancellation (stream 8)
    reader.push(hex('7f'));
    reader.push(hex('25')); // stream 100 = 63 + 37
    expect(reader.cancellations).toBe(2);
  });

  it.each([
    ['Section Acknowledgment (RFC 9204 B.2)', '84'],
    ['Insert Count Increment (RFC 9204 B.3)', '01'],
    ['Insert Count Increment of zero', '00'],
  ])('rejects %s with QPACK_DECODER_STREAM_ERROR', (_what, bytes) => {
    const err = error(() => {
      new QpackDecoderStreamReader().push(hex(bytes));
    });
    expect(err?.code).toBe(H3ErrorCode.QPACK_DECODER_STREAM_ERROR);
  });
});
