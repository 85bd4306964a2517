/**
 * The HPACK Huffman code (RFC 7541 Appendix B), used unchanged by QPACK string literals (RFC 9204
 * §4.1.2). Peers such as Chromium and quic-go Huffman-code most strings, so decoding is required.
 *
 * The code is canonical: within one code length, codes increase with the symbol value, and shorter
 * codes precede longer ones. So the table is stored as the code length of each symbol (the `len`
 * column of Appendix B) and the codes are rebuilt from it; tests check the result against codes
 * printed in the RFC and against its examples (Appendix C.4, C.6).
 *
 * Decoding walks a 4-bit-at-a-time state machine built once from the code tree (nghttp2 uses the
 * same shape): states are the tree's 256 internal nodes; each (state, nibble) entry gives the next
 * state and at most one decoded symbol (the shortest code is 5 bits).
 */

/** Code length in bits of each symbol 0..255 and EOS (256), RFC 7541 Appendix B. */
// prettier-ignore
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, //   0..15
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, //  16..31
   6, 10, 10, 12, 13,  6,  8, 11, 10, 10,  8, 11,  8,  6,  6,  6, //  32..47  ' ' .. '/'
   5,  5,  5,  6,  6,  6,  6,  6,  6,  6,  7,  8, 15,  6, 12, 10, //  48..63  '0' .. '?'
  13,  6,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7, //  64..79  '@' .. 'O'
   7,  7,  7,  7,  7,  7,  7,  7,  8,  7,  8, 13, 19, 13, 14,  6, //  80..95  'P' .. '_'
  15,  5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5, //  96..111 '`' .. 'o'
   6,  7,  6,  5,  5,  6,  7,  7,  7,  7,  7, 15, 11, 14, 13, 28, // 112..127 'p' .. DEL
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128..143
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144..159
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160..175
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176..191
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192..207
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208..223
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224..239
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240..255
  30,                                                             // 256 EOS
];

const EOS = 256;

/** Canonical codes (right-aligned) for symbols 0..256, built from CODE_LENGTHS. */
export const HUFFMAN_CODES: readonly number[] = buildCanonicalCodes(CODE_LENGTHS);
export const HUFFMAN_CODE_LENGTHS: readonly number[] = CODE_LENGTHS;

function buildCanonicalCodes(lengths: readonly number[]): number[] {
  const symbols = lengths.map((len, sym) => ({ len, sym }));
  symbols.sort((a, b) => a.len - b.len || a.sym - b.sym);
  const codes = new Array<number>(lengths.length).fill(0);
  let code = 0;
  let prevLen = symbols[0]?.len ?? 0;
  for (const { len, sym } of symbols) {
    code *= 2 ** (len - prevLen);
    prevLen = len;
    codes[sym] = code;
    code += 1;
  }
  return codes;
}

// ---------------------------------------------------------------------------------------------------
// Decoder state machine
// ---------------------------------------------------------------------------------------------------

/** Entry layout: bits 0..7 next state, bit 8 "emits a symbol", bits 9..16 the symbol, bit 17 EOS seen. */
const EMIT = 1 << 8;
const FAIL = 1 << 17;

interface DecodeTables {
  /** (state << 4 | nibble) → entry. */
  transitions: Uint32Array;
  /** state → may the string end here (root, or at most 7 bits of the EOS prefix, i.e. all ones)? */
  accepting: Uint8Array;
}

let tables: DecodeTables | undefined;

function buildDecodeTables(): DecodeTables {
  // Code tree: child >= 0 is an internal node, child < 0 is a leaf for symbol -child - 1.
  const zero: number[] = [0];
  const one: number[] = [0];
  const depth: number[] = [0];
  const allOnes: boolean[] = [true];
  for (let sym = 0; sym <= EOS; sym++) {
    const len = CODE_LENGTHS[sym] ?? 0;
    const code = HUFFMAN_CODES[sym] ?? 0;
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) % 2;
      const children = bit === 1 ? one : zero;
      if (i === 0) {
        children[node] = -sym - 1;
        break;
      }
      let next = children[node] ?? 0;
      if (next <= 0) {
        next = zero.length;
        zero.push(0);
        one.push(0);
        depth.push((depth[node] ?? 0) + 1);
        allOnes.push((allOnes[node] ?? false) && bit === 1);
        children[node] = next;
      }
      node = next;
    }
  }
  const states = zero.length; // 256 internal nodes for 257 leaves
  const transitions = new Uint32Array(states * 16);
  const accepting = new Uint8Array(states);
  for (let s = 0; s < states; s++) {
    accepting[s] = s === 0 || ((allOnes[s] ?? false) && (depth[s] ?? 99) <= 7) ? 1 : 0;
    for (let nibble = 0; nibble < 16; nibble++) {
      let cur = s;
      let entry = 0;
      for (let bit = 3; bit >= 0; bit--) {
        const child = ((nibble >> bit) & 1) === 1 ? (one[cur] ?? 0) : (zero[cur] ?? 0);
        if (child < 0) {
          const sym = -child - 1;
          if (sym === EOS) {
            entry |= FAIL;
            break;
          }
          entry |= EMIT | (sym << 9);
          cur = 0;
        } else {
          cur = child;
        }
      }
      transitions[(s << 4) | nibble] = entry | cur;
    }
  }
  return { transitions, accepting };
}

/** Thrown for an invalid Huffman string: EOS inside, or bad padding (RFC 7541 §5.2). */
export class HuffmanDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HuffmanDecodeError';
  }
}

let scratch = new Uint8Array(256);

/**
 * Decodes `input[start..end)` into bytes. The returned view aliases a reused buffer: valid until
 * the next call. Throws HuffmanDecodeError.
 */
export function huffmanDecodeInto(input: Uint8Array, start = 0, end = input.length): Uint8Array {
  tables ??= buildDecodeTables();
  const { transitions, accepting } = tables;
  // At most one symbol per 5 bits.
  const maxOut = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < maxOut) scratch = new Uint8Array(Math.max(maxOut, scratch.length * 2));
  const out = scratch;
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const byte = input[i] ?? 0;
    let entry = transitions[(state << 4) | (byte >> 4)] ?? FAIL;
    if ((entry & EMIT) !== 0) out[n++] = (entry >> 9) & 0xff;
    if ((entry & FAIL) !== 0) throw new HuffmanDecodeError('Cannot decode Huffman string: it contains EOS');
    state = entry & 0xff;
    entry = transitions[(state << 4) | (byte & 0x0f)] ?? FAIL;
    if ((entry & EMIT) !== 0) out[n++] = (entry >> 9) & 0xff;
    if ((entry & FAIL) !== 0) throw new HuffmanDecodeError('Cannot decode Huffman string: it contains EOS');
    state = entry & 0xff;
  }
  //= https://www.rfc-editor.org/rfc/rfc7541#section-5.2
  //# A padding strictly longer
  //# than 7 bits MUST be treated as a decoding error.  A padding not
  //# corresponding to the most significant bits of the code for the EOS
  //# symbol MUST be treated as a decoding error.
  if (accepting[state] !== 1) {
    throw new HuffmanDecodeError('Cannot decode Huffman string: padding is not 0-7 bits of the EOS prefix');
  }
  return out.subarray(0, n);
}

/** Decodes to a fresh byte array. */
export function huffmanDecode(input: Uint8Array): Uint8Array {
  return huffmanDecodeInto(input).slice();
}

// ---------------------------------------------------------------------------------------------------
// Encoder
// ---------------------------------------------------------------------------------------------------

/** Bytes the Huffman encoding of `input` takes (bits rounded up). */
export function huffmanEncodedLength(input: Uint8Array): number {
  let bits = 0;
  for (let i = 0; i < input.length; i++) bits += CODE_LENGTHS[input[i] ?? 0] ?? 0;
  return Math.ceil(bits / 8);
}

/**
 * Writes the Huffman encoding of `input` at `out[offset]` (room for `huffmanEncodedLength` bytes is
 * the caller's job); returns the offset after it. The last byte is padded with the EOS prefix (ones).
 */
export function huffmanEncodeInto(input: Uint8Array, out: Uint8Array, offset: number): number {
  let acc = 0; // pending bits, at most 7 + 30 = 37: kept as an exact double, not a 32-bit int
  let bits = 0;
  let off = offset;
  for (let i = 0; i < input.length; i++) {
    const sym = input[i] ?? 0;
    const len = CODE_LENGTHS[sym] ?? 0;
    acc = acc * 2 ** len + (HUFFMAN_CODES[sym] ?? 0);
    bits += len;
    while (bits >= 8) {
      bits -= 8;
      const div = 2 ** bits;
      const byte = Math.floor(acc / div);
      out[off++] = byte;
      acc -= byte * div;
    }
  }
  if (bits > 0) {
    const pad = 8 - bits;
    out[off++] = acc * 2 ** pad + (2 ** pad - 1);
  }
  return off;
}

export function huffmanEncode(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(huffmanEncodedLength(input));
  huffmanEncodeInto(input, out, 0);
  return out;
}
