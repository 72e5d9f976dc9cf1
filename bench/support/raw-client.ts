// The baseline client: mutual TLS with the same certificates and pinning, and nothing of Halibut.
import { createHash } from 'node:crypto';
import { connect, type TLSSocket } from 'node:tls';
import type { CertificateIdentity } from '../../lib/index.js';

export function rawConnect(port: number, identity: CertificateIdentity, pin: string, maxVersion?: 'TLSv1.2' | 'TLSv1.3'): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, cert: identity.cert, key: identity.key, rejectUnauthorized: false, ...(maxVersion === undefined ? {} : { maxVersion }) }, () => {
      const raw = socket.getPeerCertificate().raw;
      if (createHash('sha1').update(raw).digest('hex').toUpperCase() !== pin) return reject(new Error('pin mismatch'));
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export function readExact(socket: TLSSocket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const chunk = socket.read(n) as Buffer | null;
      if (chunk !== null) {
        socket.off('readable', attempt).off('end', onEnd);
        resolve(chunk);
      }
    };
    const onEnd = (): void => reject(new Error('closed early'));
    socket.on('readable', attempt).once('end', onEnd);
    attempt();
  });
}

export async function write(socket: TLSSocket, data: Buffer): Promise<void> {
  if (!socket.write(data)) await new Promise((resolve) => socket.once('drain', resolve));
}

export function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}
