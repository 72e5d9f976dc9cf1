/**
 * What a certificate an agent presented says about itself, read from its DER. Nothing here is trusted: it is
 * information for a person (or Octopus) to decide whether to pin that thumbprint, or for a probe to report.
 */
import { X509Certificate } from 'node:crypto';
import { formatName, parseOpenSslDate } from './build-identity.js';
import { sha1Thumbprint, sha256Thumbprint } from './thumbprint.js';

/** A certificate's names, thumbprints and validity: what a probe reports of the certificate an agent presented. */
export interface CertificateFacts {
  /** Subject on one line, most specific part first, e.g. `CN=Octopus Tentacle`. */
  subject: string;
  /** Issuer in the same form. Equal to the subject for the self-signed certificates Tentacles make. */
  issuer: string;
  /** SHA-1 of the DER: 40 uppercase hex digits, what Halibut pins and Tentacle shows. */
  thumbprint: string;
  /** SHA-256 of the DER: 64 uppercase hex digits, for display. */
  thumbprintSha256: string;
  /** The start of the certificate's validity. */
  notBefore: Date;
  /** The end of the certificate's validity. */
  notAfter: Date;
}

/** The certificate an agent presented, as discovery (`discoverAgent`) reports it: its facts and the certificate itself. */
export interface PresentedCertificate extends CertificateFacts {
  /** The certificate, PEM, so that it can be saved. */
  pem: string;
}

/** Describes a certificate from its DER bytes or PEM text (the first certificate of a chain). */
export function describeCertificate(der: Buffer | string): PresentedCertificate {
  const x509 = new X509Certificate(der);
  return { ...certificateFacts(x509), pem: x509.toString() };
}

/** @internal The facts of a parsed certificate, without its PEM (a probe has no use for it). */
export function certificateFacts(x509: X509Certificate): CertificateFacts {
  return {
    subject: formatName(x509.subject),
    issuer: formatName(x509.issuer),
    thumbprint: sha1Thumbprint(x509),
    thumbprintSha256: sha256Thumbprint(x509),
    notBefore: parseOpenSslDate(x509.validFrom),
    notAfter: parseOpenSslDate(x509.validTo),
  };
}
