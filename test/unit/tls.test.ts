import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SERVER_NAME, generateTlsMaterial, spkiHash } from '../../harness/proto/tls.js';

describe('generateTlsMaterial', () => {
  it('makes a CA and a server certificate it signed, for our name and emulation addresses', () => {
    const m = generateTlsMaterial();
    const ca = new X509Certificate(m.caPem);
    const cert = new X509Certificate(m.certPem);
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkHost(SERVER_NAME)).toBe(SERVER_NAME);
    expect(cert.checkIP('198.18.0.2')).toBe('198.18.0.2');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkPrivateKey(createPrivateKey(m.keyPem))).toBe(true);
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(m.fingerprint256).toBe(cert.fingerprint256);
  });

  it('makes new keys every time', () => {
    expect(generateTlsMaterial().keyPem).not.toBe(generateTlsMaterial().keyPem);
  });
});

describe('spkiHash', () => {
  it("is openssl's base64 SHA-256 of the DER SubjectPublicKeyInfo (Chromium's SPKI list form)", () => {
    const { certPem, caPem } = generateTlsMaterial();
    const openssl = (args: string[], input: Buffer | string): Buffer =>
      execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
    const pub = openssl(['x509', '-pubkey', '-noout'], certPem);
    const der = openssl(['pkey', '-pubin', '-outform', 'der'], pub);
    const expected = openssl(['dgst', '-sha256', '-binary'], der).toString('base64');
    expect(spkiHash(certPem)).toBe(expected);
    expect(spkiHash(caPem)).not.toBe(expected);
  });
});
