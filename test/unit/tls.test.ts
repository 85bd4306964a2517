import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SERVER_NAME, generateTlsMaterial } from '../../harness/proto/tls.js';

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
