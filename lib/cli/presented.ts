/** How a certificate is shown, in words and in JSON, wherever the tool shows one. */
import type { PresentedCertificate } from '../index.js';
import { terminalSafe } from './terminal-text.js';

/** The JSON form: the fields a script needs, dates as ISO strings, no PEM. */
export interface CertificateSummary {
  subject: string;
  thumbprint: string;
  thumbprintSha256: string;
  notBefore: string;
  notAfter: string;
  /** True when `notAfter` has passed. Halibut ignores expiry; this is information. */
  expired: boolean;
}

/** Anything with the identity fields: a presented certificate or one of ours. */
export type CertificateFields = Pick<PresentedCertificate, 'subject' | 'thumbprint' | 'thumbprintSha256' | 'notBefore' | 'notAfter'>;

export function describePresented(cert: CertificateFields, now = new Date()): CertificateSummary {
  return {
    subject: cert.subject,
    thumbprint: cert.thumbprint,
    thumbprintSha256: cert.thumbprintSha256,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    expired: cert.notAfter.getTime() < now.getTime(),
  };
}

/** Lines for a person, indented by `indent`. */
export function certificateLines(cert: CertificateFields, indent: string, now = new Date()): string {
  const expiry = cert.notAfter.getTime() < now.getTime() ? ' (expired; Halibut does not check expiry)' : '';
  return [
    `${indent}subject      ${terminalSafe(cert.subject)}`,
    `${indent}thumbprint   ${cert.thumbprint}`,
    `${indent}sha-256      ${cert.thumbprintSha256}`,
    `${indent}valid        ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}${expiry}`,
  ].join('\n') + '\n';
}
