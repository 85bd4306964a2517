/**
 * Per-run TLS material from node:crypto alone: a throw-away CA and a server certificate it signs
 * (ECDSA P-256, SHA-256), never written to the repository. A minimal DER writer builds the X.509
 * structures (RFC 5280); clients trust only this CA.
 */
import {
  createHash,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/** The name every client sends as SNI and checks the certificate against. */
export const SERVER_NAME = 'h3bench.test';

export interface TlsMaterial {
  /** PEM of the CA certificate clients trust. */
  caPem: string;
  /** PEM of the server certificate. */
  certPem: string;
  /** PEM (PKCS#8) of the server key. */
  keyPem: string;
  /** SHA-256 fingerprint of the server certificate, for the result file. */
  fingerprint256: string;
}

// ---- DER writer --------------------------------------------------------------------------------

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const octets = (b: Buffer) => tlv(0x04, b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
const explicit = (n: number, c: Buffer) => tlv(0xa0 | n, c);

function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && ((b[i + 1] ?? 0) & 0x80) === 0) i++;
  let v = b.subarray(i);
  if (((v[0] ?? 0) & 0x80) !== 0) v = Buffer.concat([Buffer.from([0]), v]);
  return tlv(0x02, v);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [(parts[0] ?? 0) * 40 + (parts[1] ?? 0)];
  for (const p of parts.slice(2)) {
    const stack: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) stack.unshift((v & 0x7f) | 0x80);
    out.push(...stack);
  }
  return tlv(0x06, Buffer.from(out));
}

function bitString(bytes: Buffer, unusedBits = 0): Buffer {
  return tlv(0x03, Buffer.from([unusedBits]), bytes);
}

function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, 'ascii'));
}

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new Error(`not an IP address: ${ip}`);
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.from(groups.flatMap((g) => [(parseInt(g, 16) >> 8) & 0xff, parseInt(g, 16) & 0xff]));
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyId: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

function name(cn: string): Buffer {
  return seq(set(seq(oid(OID.commonName), utf8(cn))));
}

function ext(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

function keyId(pub: KeyObject): Buffer {
  return createHash('sha1')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest();
}

interface CertSpec {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  issuerKeyId: Buffer;
  isCa: boolean;
  dnsNames: string[];
  ips: string[];
  validDays: number;
}

function certificate(spec: CertSpec): string {
  const sigAlg = seq(oid(OID.ecdsaWithSha256));
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const extensions = [
    ext(OID.basicConstraints, true, spec.isCa ? seq(bool(true)) : seq()),
    // keyUsage: CA = digitalSignature|keyCertSign|cRLSign (0x86, 1 unused bit); leaf = digitalSignature.
    ext(
      OID.keyUsage,
      true,
      spec.isCa ? bitString(Buffer.from([0x86]), 1) : bitString(Buffer.from([0x80]), 7),
    ),
    ext(OID.subjectKeyId, false, octets(keyId(spec.publicKey))),
    ext(OID.authorityKeyId, false, seq(tlv(0x80, spec.issuerKeyId))),
  ];
  if (!spec.isCa) {
    extensions.push(ext(OID.extKeyUsage, false, seq(oid(OID.serverAuth))));
    const alt = [
      ...spec.dnsNames.map((d) => tlv(0x82, Buffer.from(d, 'ascii'))),
      ...spec.ips.map((ip) => tlv(0x87, ipBytes(ip))),
    ];
    extensions.push(ext(OID.subjectAltName, false, seq(...alt)));
  }
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    sigAlg,
    name(spec.issuer),
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + spec.validDays * 86_400_000))),
    name(spec.subject),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, spec.signingKey);
  const der = seq(tbs, sigAlg, bitString(signature));
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`;
}

export interface TlsOptions {
  /** Extra DNS names for the server certificate (SERVER_NAME and localhost are always present). */
  dnsNames?: string[];
  /** Extra IP addresses (127.0.0.1, ::1 and the emulation addresses are always present). */
  ips?: string[];
}

/** Generate a fresh CA and server certificate (valid 30 days). Takes a few milliseconds. */
export function generateTlsMaterial(opts: TlsOptions = {}): TlsMaterial {
  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const caKeyId = keyId(ca.publicKey);
  const caPem = certificate({
    subject: 'h3bench per-run CA',
    issuer: 'h3bench per-run CA',
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    issuerKeyId: caKeyId,
    isCa: true,
    dnsNames: [],
    ips: [],
    validDays: 30,
  });
  const certPem = certificate({
    subject: SERVER_NAME,
    issuer: 'h3bench per-run CA',
    publicKey: leaf.publicKey,
    signingKey: ca.privateKey,
    issuerKeyId: caKeyId,
    isCa: false,
    dnsNames: [SERVER_NAME, 'localhost', ...(opts.dnsNames ?? [])],
    ips: ['127.0.0.1', '::1', '198.18.0.1', '198.18.0.2', ...(opts.ips ?? [])],
    validDays: 30,
  });
  const keyPem = leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { caPem, certPem, keyPem, fingerprint256: new X509Certificate(certPem).fingerprint256 };
}

/**
 * The base64 SHA-256 of a certificate's SubjectPublicKeyInfo: what Chromium's
 * `--ignore-certificate-errors-spki-list` takes (the only way to make it accept a test certificate
 * over QUIC, where `--ignore-certificate-errors` is not honoured).
 */
export function spkiHash(certPem: string): string {
  const der = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}
