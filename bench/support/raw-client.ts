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

/**
 * A bare mutual-TLS connection to a listening agent: node:tls with our certificate and the agent's certificate checked
 * against the pin, resolved once both sides have verified each other. Under TLS 1.3 that is when the first session
 * ticket arrives (the server sends it only after it has checked our certificate and Finished); under TLS 1.2 the
 * server's Finished, which comes after that check, already ended the handshake.
 */
export function openMutual(url: string, identity: CertificateIdentity, pin: string): Promise<TLSSocket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    const socket = connect({ host: hostname, port: Number(port), cert: identity.cert, key: identity.key, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerX509Certificate()?.fingerprint.replaceAll(':', '');
      if (fingerprint !== pin) return fail(new Error('pin mismatch'));
      if (socket.getProtocol() !== 'TLSv1.3') resolve(socket);
    });
    socket.once('session', () => resolve(socket));
    socket.once('error', fail);
    socket.once('close', () => reject(new Error('closed before the handshake was over')));
  });
}

/** A bare mutual-TLS handshake with a listening agent ({@link openMutual}), then the connection destroyed. */
export async function mutualHandshake(url: string, identity: CertificateIdentity, pin: string): Promise<void> {
  (await openMutual(url, identity, pin)).destroy();
}
