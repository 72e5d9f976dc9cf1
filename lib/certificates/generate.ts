/**
 * Creating a self-signed certificate shaped like the one a Tentacle makes for itself.
 *
 * Node generates the key; forge builds and signs the certificate, which Node cannot do.
 */
import { generateKeyPair, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { buildIdentity } from './build-identity.js';
import type { CertificateIdentity } from './identity.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Options for {@link generateCertificate}. */
export interface GenerateCertificateOptions {
  /** The subject and issuer common name. Default `halibut-client`. (Tentacle's own is `Octopus Tentacle`.) */
  commonName?: string | undefined;
  /** How long the certificate is valid, counted from now. Default: 100 years, as Tentacle does. */
  validityDays?: number | undefined;
  /** RSA modulus length in bits. Default 2048, as Tentacle's. */
  keySize?: 2048 | 3072 | 4096 | undefined;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Generates a new RSA key and a self-signed certificate for it, like Tentacle's own: SHA256withRSA, subject and
 * issuer `CN=<commonName>`, a random positive serial number, valid from one day ago (so that clocks a little behind
 * do not see it as not yet valid) for 100 years, and no extensions.
 *
 * Give the result's {@link CertificateIdentity.thumbprint} to the Tentacle to trust
 * (`Tentacle configure --trust <thumbprint>`), and keep the identity (e.g. save `cert` and `key` to files with
 * restrictive permissions) to use it again.
 */
export async function generateCertificate(options: GenerateCertificateOptions = {}): Promise<CertificateIdentity> {
  const { commonName = 'halibut-client', validityDays, keySize = 2048 } = options;
  if (typeof commonName !== 'string' || commonName.length === 0 || commonName.length > 64) {
    // 64 is X.520's upper bound for a common name; longer ones are rejected by some TLS stacks.
    throw new TypeError('Option commonName must be a string of 1 to 64 characters');
  }
  if (validityDays !== undefined && (typeof validityDays !== 'number' || !Number.isFinite(validityDays) || validityDays <= 0)) {
    throw new TypeError(`Option validityDays must be a positive number, got ${String(validityDays)}`);
  }
  if (keySize !== 2048 && keySize !== 3072 && keySize !== 4096) {
    throw new TypeError(`Option keySize must be 2048, 3072 or 4096, got ${String(keySize)}`);
  }

  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', { modulusLength: keySize });

  // Certificates carry whole seconds; trimming here makes notBefore/notAfter equal what the certificate says.
  const now = Math.floor(Date.now() / 1000) * 1000;
  const notBefore = new Date(now - DAY_MS);
  let notAfter: Date;
  if (validityDays === undefined) {
    notAfter = new Date(now);
    notAfter.setUTCFullYear(notAfter.getUTCFullYear() + 100);
  } else {
    notAfter = new Date(now + Math.round(validityDays * DAY_MS / 1000) * 1000);
  }

  const pem = signCertificate({ commonName, publicKey, privateKey, notBefore, notAfter });
  return buildIdentity(new X509Certificate(pem), privateKey);
}

function signCertificate(spec: { commonName: string; publicKey: KeyObject; privateKey: KeyObject; notBefore: Date; notAfter: Date }): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(spec.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = spec.notBefore;
  cert.validity.notAfter = spec.notAfter;
  // UTF8String, as RFC 5280 asks of new certificates; forge's default, PrintableString, cannot hold e.g. '_' or 'é'.
  const name = [{ name: 'commonName', value: spec.commonName, valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.sign(forge.pki.privateKeyFromPem(spec.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/**
 * 128 random bits as a positive DER INTEGER: the top bit is cleared (a set top bit would make it negative) and the
 * first byte kept non-zero (a leading zero byte would not be minimal DER), so the serial is always 16 bytes.
 */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}
