/**
 * Field section checks of RFC 9114 §4.1.2, §4.2 and §4.3. A failed check means the message is
 * malformed: a stream error of type H3_MESSAGE_ERROR (the stream is reset, the connection lives).
 */
import { H3Error, H3ErrorCode } from './errors.js';
import type { Header } from './qpack/qpack.js';

/** What the connection needs from a valid header section. */
export interface MessageInfo {
  /** Value of content-length, or -1 when absent. */
  contentLength: number;
  /** :method of a request, '' for responses and trailers. */
  method: string;
  /** :status of a response, 0 for requests and trailers. */
  status: number;
}

/** Which section is being checked. */
export type SectionKind = 'request' | 'response' | 'trailers';

//= https://www.rfc-editor.org/rfc/rfc9114#section-4.2
//# An endpoint MUST NOT
//# generate an HTTP/3 field section containing connection-specific
//# fields; any message containing connection-specific fields MUST be
//# treated as malformed.
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/** A field name: lowercase token characters (RFC 9110 §5.1). */
const NAME_RE = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/;
/** Characters not allowed in a field value: CTLs except HTAB, DEL, and anything above latin1. */
const BAD_VALUE_RE = /[^\t\x20-\x7e\x80-\xff]/;
const STATUS_RE = /^[1-5][0-9][0-9]$/;
const DIGITS_RE = /^[0-9]+$/;

const REQUEST_PSEUDO = new Set([':method', ':scheme', ':authority', ':path']);
const RESPONSE_PSEUDO = new Set([':status']);

function malformed(streamId: number | undefined, reason: string): H3Error {
  //= https://www.rfc-editor.org/rfc/rfc9114#section-4.1.2
  //# Malformed requests or responses that are
  //# detected MUST be treated as a stream error of type H3_MESSAGE_ERROR.
  return new H3Error(H3ErrorCode.H3_MESSAGE_ERROR, `Malformed message: ${reason}`, {
    scope: 'stream',
    streamId,
  });
}

/**
 * Checks a header or trailer section; throws H3Error H3_MESSAGE_ERROR (stream scope) when it is
 * malformed. `streamId` only labels the error.
 */
export function validateFieldSection(
  headers: readonly Header[],
  kind: SectionKind,
  streamId?: number,
): MessageInfo {
  const allowedPseudo = kind === 'request' ? REQUEST_PSEUDO : RESPONSE_PSEUDO;
  const pseudo = new Map<string, string>();
  let regularSeen = false;
  let contentLength = -1;
  let host: string | undefined;
  for (const [name, value] of headers) {
    //= https://www.rfc-editor.org/rfc/rfc9114#section-10.3
    //# Any request or response that contains a
    //# character not permitted in a field value MUST be treated as
    //# malformed.
    if (BAD_VALUE_RE.test(value))
      throw malformed(streamId, `field "${name}" has a forbidden character in its value`);
    if (name.startsWith(':')) {
      //= https://www.rfc-editor.org/rfc/rfc9114#section-4.3
      //# Pseudo-header fields MUST NOT appear in trailer
      //# sections.
      if (kind === 'trailers') throw malformed(streamId, `pseudo-header "${name}" in a trailer section`);
      //= https://www.rfc-editor.org/rfc/rfc9114#section-4.3
      //# Any request or response that contains a
      //# pseudo-header field that appears in a header section after a regular
      //# header field MUST be treated as malformed.
      if (regularSeen) throw malformed(streamId, `pseudo-header "${name}" after a regular field`);
      //= https://www.rfc-editor.org/rfc/rfc9114#section-4.3
      //# Endpoints MUST treat a request or response that contains
      //# undefined or invalid pseudo-header fields as malformed.
      if (!allowedPseudo.has(name))
        throw malformed(streamId, `pseudo-header "${name}" is not defined for a ${kind}`);
      //= https://www.rfc-editor.org/rfc/rfc9114#section-4.3.1
      //# All HTTP/3 requests MUST include exactly one value for the :method,
      //# :scheme, and :path pseudo-header fields, unless the request is a
      //# CONNECT request; see Section 4.4.
      if (pseudo.has(name)) throw malformed(streamId, `pseudo-header "${name}" appears twice`);
      pseudo.set(name, value);
      continue;
    }
    regularSeen = true;
    //= https://www.rfc-editor.org/rfc/rfc9114#section-4.2
    //# A request or
    //# response containing uppercase characters in field names MUST be
    //# treated as malformed.
    if (!NAME_RE.test(name)) throw malformed(streamId, `field name "${name}" is not a lowercase token`);
    if (CONNECTION_SPECIFIC.has(name)) throw malformed(streamId, `connection-specific field "${name}"`);
    if (name === 'te') {
      //= https://www.rfc-editor.org/rfc/rfc9114#section-4.2
      //# The only exception to this is the TE header field, which MAY be
      //# present in an HTTP/3 request header; when it is, it MUST NOT contain
      //# any value other than "trailers".
      if (kind !== 'request' || value.trim().toLowerCase() !== 'trailers') {
        throw malformed(streamId, `field "te" with value "${value}" in a ${kind}`);
      }
    } else if (name === 'content-length' && kind !== 'trailers') {
      if (!DIGITS_RE.test(value) || !Number.isSafeInteger(Number(value))) {
        throw malformed(streamId, `content-length "${value}" is not a non-negative integer`);
      }
      const n = Number(value);
      if (contentLength >= 0 && n !== contentLength) {
        throw malformed(streamId, `content-length values ${contentLength} and ${n} differ`);
      }
      contentLength = n;
    } else if (name === 'host') {
      host = value;
    }
  }

  if (kind === 'trailers') return { contentLength: -1, method: '', status: 0 };

  if (kind === 'response') {
    //= https://www.rfc-editor.org/rfc/rfc9114#section-4.3.2
    //# This pseudo-
    //# header field MUST be included in all responses; otherwise, the
    //# response is malformed (see Section 4.1.2).
    const status = pseudo.get(':status');
    if (status === undefined) throw malformed(streamId, 'response has no :status');
    //= https://www.rfc-editor.org/rfc/rfc9114#section-4.5
    //# HTTP/3 does not support the HTTP Upgrade mechanism (Section 7.8 of
    //# [HTTP]) or the 101 (Switching Protocols) informational status code
    //# (Section 15.2.2 of [HTTP]).
    if (!STATUS_RE.test(status) || status === '101')
      throw malformed(streamId, `:status "${status}" is invalid`);
    return { contentLength, method: '', status: Number(status) };
  }

  const method = pseudo.get(':method');
  const scheme = pseudo.get(':scheme');
  const path = pseudo.get(':path');
  const authority = pseudo.get(':authority');
  if (method === undefined) throw malformed(streamId, 'request has no :method');
  if (!NAME_RE.test(method.toLowerCase())) throw malformed(streamId, `:method "${method}" is not a token`);
  if (method === 'CONNECT') {
    //= https://www.rfc-editor.org/rfc/rfc9114#section-4.4
    //# A CONNECT request that does not conform
    //# to these restrictions is malformed.
    if (scheme !== undefined || path !== undefined) {
      throw malformed(streamId, 'CONNECT request carries :scheme or :path');
    }
    if (authority === undefined || authority === '')
      throw malformed(streamId, 'CONNECT request has no :authority');
    return { contentLength, method, status: 0 };
  }
  //= https://www.rfc-editor.org/rfc/rfc9114#section-4.3.1
  //# An HTTP request that omits mandatory pseudo-header fields or contains
  //# invalid values for those pseudo-header fields is malformed.
  if (scheme === undefined) throw malformed(streamId, 'request has no :scheme');
  if (path === undefined) throw malformed(streamId, 'request has no :path');
  if (scheme === 'http' || scheme === 'https') {
    //= https://www.rfc-editor.org/rfc/rfc9114#section-4.3.1
    //# This pseudo-header field MUST NOT be empty for "http" or "https"
    //# URIs; "http" or "https" URIs that do not contain a path component
    //# MUST include a value of / (ASCII 0x2f).
    if (path === '') throw malformed(streamId, ':path is empty');
    //= https://www.rfc-editor.org/rfc/rfc9114#section-4.3.1
    //# If the :scheme pseudo-header field identifies a scheme that has a
    //# mandatory authority component (including "http" and "https"), the
    //# request MUST contain either an :authority pseudo-header field or a
    //# Host header field.  If these fields are present, they MUST NOT be
    //# empty.  If both fields are present, they MUST contain the same value.
    if (authority === undefined && host === undefined) {
      throw malformed(streamId, `"${scheme}" request has neither :authority nor host`);
    }
    if (authority === '' || host === '') throw malformed(streamId, ':authority or host is empty');
    if (authority !== undefined && host !== undefined && authority !== host) {
      throw malformed(streamId, `:authority "${authority}" and host "${host}" differ`);
    }
  }
  return { contentLength, method, status: 0 };
}
