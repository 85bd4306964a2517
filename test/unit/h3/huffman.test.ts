import { describe, expect, it } from 'vitest';
import {
  HUFFMAN_CODES,
  HUFFMAN_CODE_LENGTHS,
  HuffmanDecodeError,
  huffmanDecode,
  huffmanEncode,
  huffmanEncodedLength,
} from '../../../harness/proto/h3/qpack/huffman.js';
import { hex } from './pair.js';

const latin1 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

/** RFC 7541 Appendix C.4 (requests) and C.6 (responses) Huffman-coded strings. */
const RFC7541_VECTORS: [string, string][] = [
  ['www.example.com', 'f1e3 c2e5 f23a 6ba0 ab90 f4ff'],
  ['no-cache', 'a8eb 1064 9cbf'],
  ['custom-key', '25a8 49e9 5ba9 7d7f'],
  ['custom-value', '25a8 49e9 5bb8 e8b4 bf'],
  ['302', '6402'],
  ['307', '640e ff'],
  ['private', 'aec3 771a 4b'],
  ['Mon, 21 Oct 2013 20:13:21 GMT', 'd07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff'],
  ['Mon, 21 Oct 2013 20:13:22 GMT', 'd07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff'],
  ['https://www.example.com', '9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3'],
  ['gzip', '9bd9 ab'],
  [
    'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1',
    '94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
  ],
];

describe('huffman', () => {
  it.each(RFC7541_VECTORS)('huffmanDecode decodes the RFC 7541 vector for %j', (text, code) => {
    expect(Buffer.from(huffmanDecode(hex(code))).toString('latin1')).toBe(text);
  });

  it.each(RFC7541_VECTORS)('huffmanEncode produces the RFC 7541 vector for %j', (text, code) => {
    expect(huffmanEncode(latin1(text))).toEqual(hex(code));
    expect(huffmanEncodedLength(latin1(text))).toBe(hex(code).length);
  });

  it('HUFFMAN_CODES match codes printed in RFC 7541 Appendix B', () => {
    const printed: [number, number, number][] = [
      [0, 0x1ff8, 13],
      [1, 0x7fffd8, 23],
      [9, 0xffffea, 24],
      [10, 0x3ffffffc, 30],
      [13, 0x3ffffffd, 30],
      [22, 0x3ffffffe, 30],
      [32, 0x14, 6],
      [48, 0x0, 5],
      [97, 0x3, 5],
      [122, 0x7b, 7],
      [127, 0xffffffc, 28],
      [128, 0xfffe6, 20],
      [195, 0x7fff1, 19],
      [220, 0xffffffd, 28],
      [249, 0xffffffe, 28],
      [254, 0x7fffff0, 27],
      [255, 0x3ffffee, 26],
      [256, 0x3fffffff, 30],
    ];
    for (const [sym, code, len] of printed) {
      expect([HUFFMAN_CODES[sym], HUFFMAN_CODE_LENGTHS[sym]]).toEqual([code, len]);
    }
  });

  it('HUFFMAN_CODE_LENGTHS describe a complete prefix code (Kraft sum is exactly 1)', () => {
    expect(HUFFMAN_CODE_LENGTHS.length).toBe(257);
    // Sum of 2^(30 - len) must be 2^30 exactly.
    expect(HUFFMAN_CODE_LENGTHS.reduce((sum, len) => sum + 2 ** (30 - len), 0)).toBe(2 ** 30);
  });

  it('huffmanDecode round-trips every byte value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(huffmanDecode(huffmanEncode(all))).toEqual(all);
    const reversed = all.slice().reverse();
    expect(huffmanDecode(huffmanEncode(reversed))).toEqual(reversed);
  });

  it('huffmanDecode decodes the empty string', () => {
    expect(huffmanDecode(new Uint8Array(0))).toEqual(new Uint8Array(0));
  });

  it('huffmanDecode rejects EOS in the string', () => {
    expect(() => huffmanDecode(hex('ffffffff'))).toThrow(HuffmanDecodeError);
  });

  it('huffmanDecode rejects padding that is not ones', () => {
    // '0' is 00000; padding 000 is not the EOS prefix.
    expect(() => huffmanDecode(hex('00'))).toThrow(HuffmanDecodeError);
    expect(() => huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4fe'))).toThrow(HuffmanDecodeError);
  });

  it('huffmanDecode rejects padding longer than 7 bits', () => {
    // '0' + 111 padding is valid (0x07); one more all-ones byte makes 11 bits of padding.
    expect(huffmanDecode(hex('07'))).toEqual(latin1('0'));
    expect(() => huffmanDecode(hex('07ff'))).toThrow(HuffmanDecodeError);
    expect(() => huffmanDecode(hex('ff'))).toThrow(HuffmanDecodeError);
  });
});
