/**
 * Certificates: creating and loading the identity this side presents in TLS, and thumbprints, by which Halibut
 * names and trusts certificates. See docs/certificates.md.
 */
export type { CertificateIdentity, CertificateKeyPair } from './identity.js';
export { toIdentity } from './identity.js';
export type { GenerateCertificateOptions } from './generate.js';
export { generateCertificate } from './generate.js';
export type { LoadPemOptions } from './load-pem.js';
export { loadPem } from './load-pem.js';
export { loadPfx } from './load-pfx.js';
export type { PemFiles, PfxFile } from './load-files.js';
export { loadCertificateFiles } from './load-files.js';
export { normalizeThumbprint, thumbprint256Of, thumbprintOf } from './thumbprint.js';
export { CertificateFormatError, CertificateKeyMismatchError, CertificatePasswordError, InvalidThumbprintError } from './errors.js';
export { CertificateMismatchError } from './pinning.js';
export { describeCertificate, type CertificateFacts, type PresentedCertificate } from './presented.js';
