// Certificates minted once per test process: RSA key generation is the slow part of a mutual-TLS test.
import { generateCertificate, type CertificateIdentity } from '../../lib/certificates/index.js';

export interface TestIdentities {
  /** The client's identity, trusted by agents started with {@link startAgent}. */
  client: CertificateIdentity;
  /** The agent's identity. */
  agent: CertificateIdentity;
  /** A third identity nobody trusts or pins. */
  stranger: CertificateIdentity;
}

let cached: Promise<TestIdentities> | undefined;

export function identities(): Promise<TestIdentities> {
  cached ??= (async () => {
    const [client, agent, stranger] = await Promise.all([
      generateCertificate({ commonName: 'test client' }),
      generateCertificate({ commonName: 'test agent' }),
      generateCertificate({ commonName: 'stranger' }),
    ]);
    return { client, agent, stranger };
  })();
  return cached;
}
