// The certificates layer, with real keys, real PFX files (made by forge, and by the openssl CLI where forge cannot
// write the format) and a real TLS handshake. RSA key generation dominates the run time, so the file makes two
// identities up front and reuses them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createSecureContext, createServer, type TLSSocket } from 'node:tls';
import { after, describe, it, type TestContext } from 'node:test';
import { format, inspect } from 'node:util';
import forge from 'node-forge';
import {
  CertificateFormatError,
  CertificateKeyMismatchError,
  CertificatePasswordError,
  generateCertificate,
  InvalidThumbprintError,
  loadCertificateFiles,
  loadPem,
  loadPfx,
  normalizeThumbprint,
  thumbprint256Of,
  thumbprintOf,
  toIdentity,
  type CertificateIdentity,
} from '../lib/certificates/index.js';
import { HalibutError } from '../lib/errors.js';

// Distinctive secrets, so that a leak into any message, cause or stack is unmistakable.
const PFX_PASSWORD = 'Pfx-S3cret-7781';
const PEM_PASSPHRASE = 'Pem-S3cret-4413';
const WRONG_PASSWORD = 'Wr0ng-Guess-9032';
const NON_ASCII_PASSWORD = 'Pässwörd-✓-密码';
const SECRETS = [PFX_PASSWORD, PEM_PASSPHRASE, WRONG_PASSWORD, NON_ASCII_PASSWORD];

const [ours, theirs] = await Promise.all([
  generateCertificate(),
  generateCertificate({ commonName: 'Octopus Tentacle', validityDays: 1 }),
]);

const dir = await mkdtemp(join(tmpdir(), 'halibut-certificates-'));
after(() => rm(dir, { recursive: true, force: true }));
let fileCounter = 0;
async function tempFile(contents: string | Buffer, extension: string): Promise<string> {
  const path = join(dir, `f${++fileCounter}.${extension}`);
  await writeFile(path, contents);
  return path;
}

// ---- helpers ----

/** Every string an error exposes: message, stack, own properties, and the same for its causes. */
function everythingIn(err: unknown): string {
  return `${inspect(err, { depth: Infinity, showHidden: true })}\n${JSON.stringify(err)}\n${String((err as Error).stack)}`;
}

/** Asserts that `fn` throws an error of `type` with `code`, and that no secret leaked into it. Returns the error. */
function expectError<E extends HalibutError>(fn: () => unknown, type: abstract new (...args: never[]) => E, code: string): E {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  return checkError(caught, type, code);
}

async function expectRejection<E extends HalibutError>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E, code: string): Promise<E> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  return checkError(caught, type, code);
}

function checkError<E extends HalibutError>(caught: unknown, type: abstract new (...args: never[]) => E, code: string): E {
  assert.ok(caught instanceof type, `expected ${type.name}, got ${inspect(caught)}`);
  assert.equal(caught.code, code);
  assert.ok(caught instanceof HalibutError);
  assert.equal(caught.name, type.name);
  const text = everythingIn(caught);
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `error exposes a password: ${caught.message}`);
  assert.ok(!text.includes('PRIVATE KEY-----\nMII'), 'error exposes a private key');
  return caught;
}

function sha1Hex(der: Buffer): string {
  return createHash('sha1').update(der).digest('hex').toUpperCase();
}

function toForge(identity: CertificateIdentity): { key: forge.pki.rsa.PrivateKey; cert: forge.pki.Certificate } {
  return {
    key: forge.pki.privateKeyFromPem(createPrivateKey(identity.key).export({ type: 'pkcs1', format: 'pem' }) as string),
    cert: forge.pki.certificateFromPem(identity.cert),
  };
}

/** A PFX written by forge. forge keeps certificates unencrypted and always uses a SHA-1 MAC. */
function forgePfx(
  key: forge.pki.rsa.PrivateKey | null,
  certs: forge.pki.Certificate | forge.pki.Certificate[],
  password: string | null,
  options: Record<string, unknown> = {},
): Buffer {
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, certs, password, options);
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

/**
 * Re-encodes a PFX's outer layers as BER the way BouncyCastle and Java write it: indefinite lengths, and the content
 * OCTET STRING split into 1000-byte chunks. The bytes the MAC covers are unchanged, so the file stays valid.
 */
function berPfx(der: Buffer): Buffer {
  const length = (n: number): Buffer => {
    if (n < 0x80) return Buffer.from([n]);
    const bytes: number[] = [];
    for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
    return Buffer.from([0x80 | bytes.length, ...bytes]);
  };
  const encode = (node: forge.asn1.Asn1): Buffer => {
    const tag = node.tagClass | node.type;
    if (Array.isArray(node.value)) {
      return Buffer.concat([Buffer.from([tag | 0x20, 0x80]), ...node.value.map(encode), Buffer.from([0, 0])]);
    }
    const value = Buffer.from(node.value, 'binary');
    if (node.type === forge.asn1.Type.OCTETSTRING && node.tagClass === forge.asn1.Class.UNIVERSAL && value.length > 1000) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < value.length; i += 1000) {
        const chunk = value.subarray(i, i + 1000);
        chunks.push(Buffer.from([0x04]), length(chunk.length), chunk);
      }
      return Buffer.concat([Buffer.from([0x24, 0x80]), ...chunks, Buffer.from([0, 0])]);
    }
    return Buffer.concat([Buffer.from([tag]), length(value.length), value]);
  };
  return encode(forge.asn1.fromDer(der.toString('binary'), true));
}

const opensslVersion = spawnSync('openssl', ['version'], { encoding: 'utf8' });
const opensslMissing = opensslVersion.status === 0 ? undefined : 'the openssl command is not available';
// CI must exercise the formats only openssl can write, so there a missing openssl fails instead of skipping.
const opensslSkip = process.env['CI'] === 'true' ? false : (opensslMissing ?? false);

/** Runs `openssl pkcs12 -export` on an identity; the password travels in the environment, not the command line. */
async function opensslPfx(t: TestContext, identity: CertificateIdentity, password: string, extra: string[] = []): Promise<Buffer | undefined> {
  const cert = await tempFile(identity.cert, 'crt');
  const key = await tempFile(identity.key, 'key');
  const out = join(dir, `f${++fileCounter}.pfx`);
  const run = spawnSync('openssl', ['pkcs12', '-export', '-in', cert, '-inkey', key, '-out', out, '-passout', 'env:PFX_PASSWORD', ...extra], {
    env: { ...process.env, PFX_PASSWORD: password },
    encoding: 'utf8',
  });
  if (run.status !== 0) {
    // Some builds of OpenSSL 3 ship without the legacy provider, so they cannot write RC2.
    if (extra.includes('-legacy') && process.env['CI'] !== 'true') {
      t.skip(`this openssl cannot write legacy PFX files: ${run.stderr.trim()}`);
      return undefined;
    }
    assert.fail(`openssl pkcs12 failed: ${run.stderr}`);
  }
  return readFile(out);
}

function opensslInfo(pfx: Buffer, password: string): string {
  const run = spawnSync('openssl', ['pkcs12', '-info', '-noout', '-legacy', '-passin', 'env:PFX_PASSWORD'], {
    input: pfx,
    env: { ...process.env, PFX_PASSWORD: password },
    encoding: 'latin1',
  });
  return `${run.stdout}${run.stderr}`;
}

// ---- generateCertificate ----

describe('generateCertificate', () => {
  const x509 = new X509Certificate(ours.cert);

  it('makes an RSA 2048 key and a self-signed SHA256withRSA certificate named CN=halibut-client', () => {
    assert.equal(x509.publicKey.asymmetricKeyType, 'rsa');
    assert.equal(x509.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(x509.subject, 'CN=halibut-client');
    assert.equal(x509.issuer, 'CN=halibut-client');
    assert.equal(ours.subject, 'CN=halibut-client');
    assert.ok(x509.checkIssued(x509), 'issued by itself');
    assert.ok(x509.verify(x509.publicKey), 'signed by its own key');
    assert.ok(x509.checkPrivateKey(createPrivateKey(ours.key)), 'the key is the certificate key');
    // sha256WithRSAEncryption, read independently of our code by forge and by its DER bytes.
    assert.equal(forge.pki.certificateFromPem(ours.cert).signatureOid, '1.2.840.113549.1.1.11');
    assert.ok(x509.raw.includes(Buffer.from('06092a864886f70d01010b', 'hex')));
  });

  it('uses a random positive serial number', async () => {
    assert.ok(/^[0-7][0-9A-F]{31}$/u.test(x509.serialNumber), `serial ${x509.serialNumber}`);
    assert.notEqual(new X509Certificate(theirs.cert).serialNumber, x509.serialNumber);
    const again = await generateCertificate();
    assert.notEqual(new X509Certificate(again.cert).serialNumber, x509.serialNumber);
  });

  it('is valid from a day ago for 100 years, and reports those dates', () => {
    const dayAgo = Date.now() - 24 * 60 * 60 * 1000;
    assert.ok(Math.abs(ours.notBefore.getTime() - dayAgo) < 5 * 60 * 1000, `notBefore ${ours.notBefore.toISOString()}`);
    const expectedEnd = new Date(ours.notBefore.getTime() + 24 * 60 * 60 * 1000);
    expectedEnd.setUTCFullYear(expectedEnd.getUTCFullYear() + 100);
    assert.equal(ours.notAfter.getTime(), expectedEnd.getTime());
    assert.equal(ours.notBefore.getTime(), new Date(x509.validFrom).getTime());
    assert.equal(ours.notAfter.getTime(), new Date(x509.validTo).getTime());
  });

  it('honours commonName and validityDays', () => {
    assert.equal(theirs.subject, 'CN=Octopus Tentacle');
    assert.equal(new X509Certificate(theirs.cert).issuer, 'CN=Octopus Tentacle');
    assert.equal(theirs.notAfter.getTime() - theirs.notBefore.getTime(), 2 * 24 * 60 * 60 * 1000);
  });

  it('gives thumbprints equal to the SHA-1 and SHA-256 of the DER, in Halibut form', () => {
    assert.equal(ours.thumbprint, sha1Hex(x509.raw));
    assert.equal(ours.thumbprint, x509.fingerprint.replaceAll(':', ''));
    assert.match(ours.thumbprint, /^[0-9A-F]{40}$/u);
    assert.equal(ours.thumbprintSha256, createHash('sha256').update(x509.raw).digest('hex').toUpperCase());
    assert.match(ours.thumbprintSha256, /^[0-9A-F]{64}$/u);
  });

  it('rejects bad options', async () => {
    await assert.rejects(generateCertificate({ commonName: '' }), TypeError);
    await assert.rejects(generateCertificate({ validityDays: 0 }), TypeError);
    await assert.rejects(generateCertificate({ keySize: 1024 as 2048 }), TypeError);
  });

  it('makes identities that complete a mutual TLS handshake', async () => {
    const server = createServer({ cert: theirs.cert, key: theirs.key, requestCert: true, rejectUnauthorized: false });
    const seenByServer = new Promise<string>((resolve) => {
      server.on('secureConnection', (socket: TLSSocket) => {
        resolve(socket.getPeerCertificate().fingerprint);
        socket.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const client = connect({ host: '127.0.0.1', port, cert: ours.cert, key: ours.key, rejectUnauthorized: false });
      const seenByClient = await new Promise<string>((resolve, reject) => {
        client.once('secureConnect', () => resolve(client.getPeerCertificate().fingerprint));
        client.once('error', reject);
      });
      // Under TLS 1.3 the server checks the client certificate after the client considers itself connected, so the
      // client stays open until the server has seen it.
      assert.equal((await seenByServer).replaceAll(':', ''), ours.thumbprint);
      client.destroy();
      assert.equal(seenByClient.replaceAll(':', ''), theirs.thumbprint);
    } finally {
      server.close();
    }
  });
});

// ---- the identity object ----

describe('CertificateIdentity', () => {
  it('reads the key but never shows it', () => {
    assert.match(ours.key, /^-----BEGIN PRIVATE KEY-----\n/u);
    assert.ok(!Object.keys(ours).includes('key'));
    assert.ok(!Object.prototype.propertyIsEnumerable.call(ours, 'key'));
    for (const shown of [
      JSON.stringify(ours),
      inspect(ours),
      inspect(ours, { showHidden: true, depth: Infinity }),
      format('%o %O %j %s', ours, ours, ours, ours),
      JSON.stringify({ ...ours }),
    ]) {
      assert.ok(!shown.includes('PRIVATE KEY'), shown);
      assert.ok(shown.includes(ours.thumbprint), shown);
    }
  });

  it('serialises everything but the key', () => {
    const json = JSON.parse(JSON.stringify(ours)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json).sort(), ['cert', 'notAfter', 'notBefore', 'subject', 'thumbprint', 'thumbprintSha256']);
    assert.equal(json['cert'], ours.cert);
    assert.equal(json['notAfter'], ours.notAfter.toISOString());
  });

  it('is immutable', () => {
    assert.ok(Object.isFrozen(ours));
    assert.throws(() => {
      (ours as { thumbprint: string }).thumbprint = '0'.repeat(40);
    }, TypeError);
  });
});

// ---- loadPem ----

describe('loadPem', () => {
  it('round-trips a generated identity, from strings and from Buffers', () => {
    for (const loaded of [loadPem(ours.cert, ours.key), loadPem(Buffer.from(ours.cert), Buffer.from(ours.key))]) {
      assert.equal(loaded.thumbprint, ours.thumbprint);
      assert.equal(loaded.thumbprintSha256, ours.thumbprintSha256);
      assert.equal(loaded.subject, ours.subject);
      assert.equal(loaded.cert, ours.cert);
      assert.equal(loaded.key, ours.key);
      assert.equal(loaded.notBefore.getTime(), ours.notBefore.getTime());
      assert.equal(loaded.notAfter.getTime(), ours.notAfter.getTime());
    }
  });

  it('reads PKCS#1 keys, DER, CRLF line ends and a combined key-and-certificate file', () => {
    const key = createPrivateKey(ours.key);
    const pkcs1 = key.export({ type: 'pkcs1', format: 'pem' }) as string;
    assert.match(pkcs1, /BEGIN RSA PRIVATE KEY/u);
    assert.equal(loadPem(ours.cert, pkcs1).key, ours.key, 'the key comes out as PKCS#8');
    const der = new X509Certificate(ours.cert).raw;
    assert.equal(loadPem(der, key.export({ type: 'pkcs8', format: 'der' })).thumbprint, ours.thumbprint);
    assert.equal(loadPem(der, key.export({ type: 'pkcs1', format: 'der' })).thumbprint, ours.thumbprint);
    assert.equal(loadPem(ours.cert.replaceAll('\n', '\r\n'), ours.key.replaceAll('\n', '\r\n')).thumbprint, ours.thumbprint);
    const combined = `${pkcs1}${ours.cert}`;
    assert.equal(loadPem(combined, combined).thumbprint, ours.thumbprint);
  });

  it('takes the first certificate of a chain as the leaf, ignoring openssl preambles', () => {
    const chain = `Bag Attributes\n    friendlyName: leaf\nsubject=CN = halibut-client\n${ours.cert}subject=CN = issuer\n${theirs.cert}`;
    const loaded = loadPem(chain, ours.key);
    assert.equal(loaded.thumbprint, ours.thumbprint);
    assert.equal(loaded.cert, ours.cert, 'only the leaf is kept');
  });

  it('reads encrypted keys with the right passphrase, in PKCS#8 and traditional form', () => {
    const key = createPrivateKey(ours.key);
    const pkcs8 = key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PEM_PASSPHRASE }) as string;
    const traditional = key.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase: PEM_PASSPHRASE }) as string;
    assert.match(pkcs8, /BEGIN ENCRYPTED PRIVATE KEY/u);
    assert.match(traditional, /Proc-Type: 4,ENCRYPTED/u);
    for (const encrypted of [pkcs8, traditional]) {
      const loaded = loadPem(ours.cert, encrypted, { passphrase: PEM_PASSPHRASE });
      assert.equal(loaded.thumbprint, ours.thumbprint);
      assert.equal(loaded.key, ours.key, 'the key comes out decrypted');

      const missing = expectError(() => loadPem(ours.cert, encrypted), CertificatePasswordError, 'ERR_CERTIFICATE_PASSWORD');
      assert.equal(missing.reason, 'missing');
      assert.match(missing.message, /encrypted; give its passphrase/u);
      const wrong = expectError(() => loadPem(ours.cert, encrypted, { passphrase: WRONG_PASSWORD }), CertificatePasswordError, 'ERR_CERTIFICATE_PASSWORD');
      assert.equal(wrong.reason, 'incorrect');
      assert.match(wrong.message, /passphrase .* is wrong/u);
      assert.ok(wrong.cause instanceof Error, 'keeps the underlying error');
      expectError(() => loadPem(ours.cert, encrypted, { passphrase: '' }), CertificatePasswordError, 'ERR_CERTIFICATE_PASSWORD');
    }
    const der = key.export({ type: 'pkcs8', format: 'der', cipher: 'aes-256-cbc', passphrase: PEM_PASSPHRASE });
    assert.equal(loadPem(ours.cert, der, { passphrase: PEM_PASSPHRASE }).thumbprint, ours.thumbprint);
    expectError(() => loadPem(ours.cert, der, { passphrase: WRONG_PASSWORD }), CertificatePasswordError, 'ERR_CERTIFICATE_PASSWORD');
  });

  it('ignores a passphrase given for a key that is not encrypted', () => {
    assert.equal(loadPem(ours.cert, ours.key, { passphrase: PEM_PASSPHRASE }).thumbprint, ours.thumbprint);
  });

  it('refuses a key that belongs to another certificate, naming the certificate', () => {
    const err = expectError(() => loadPem(ours.cert, theirs.key), CertificateKeyMismatchError, 'ERR_CERTIFICATE_KEY_MISMATCH');
    assert.equal(err.subject, 'CN=halibut-client');
    assert.equal(err.thumbprint, ours.thumbprint);
    assert.ok(err.message.includes('CN=halibut-client') && err.message.includes(ours.thumbprint), err.message);
  });

  it('says what was expected when the input is not a certificate or not a key', () => {
    const cases: Array<[string | Buffer, string | Buffer, RegExp]> = [
      [ours.key, ours.key, /holds no certificate.*found 'PRIVATE KEY'/u],
      ['hello', ours.key, /expected PEM text starting with '-----BEGIN CERTIFICATE-----'/u],
      [Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]), ours.key, /not a readable X\.509 certificate/u],
      ['', ours.key, /is empty/u],
      ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', ours.key, /not a readable X\.509 certificate/u],
      [ours.cert, ours.cert, /holds no private key.*found 'CERTIFICATE'/u],
      [ours.cert, createPublicKey(ours.key).export({ type: 'spki', format: 'pem' }), /holds no private key.*'PUBLIC KEY'/u],
      [ours.cert, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', /not a readable private key/u],
      [ours.cert, Buffer.from('not a key at all, and not PEM'), /not a readable private key/u],
    ];
    for (const [cert, key, message] of cases) {
      const err = expectError(() => loadPem(cert, key), CertificateFormatError, 'ERR_CERTIFICATE_FORMAT');
      assert.match(err.message, message);
    }
  });

  it('does not treat an expired certificate as an error', () => {
    // Halibut ignores validity, so an identity with a certificate that expired in 2001 still loads.
    const { key, cert } = toForge(ours);
    cert.validity.notBefore = new Date('2000-01-01T00:00:00Z');
    cert.validity.notAfter = new Date('2001-01-01T00:00:00Z');
    cert.sign(key, forge.md.sha256.create());
    const expired = loadPem(forge.pki.certificateToPem(cert), ours.key);
    assert.equal(expired.notAfter.toISOString(), '2001-01-01T00:00:00.000Z');
  });
});

// ---- loadPfx ----

describe('loadPfx', () => {
  it('reads a modern AES-256 (PBES2) PFX written by forge', () => {
    const { key, cert } = toForge(ours);
    for (const prfAlgorithm of ['sha1', 'sha256']) {
      const pfx = forgePfx(key, cert, PFX_PASSWORD, { algorithm: 'aes256', prfAlgorithm });
      const loaded = loadPfx(pfx, PFX_PASSWORD);
      assert.equal(loaded.thumbprint, ours.thumbprint);
      assert.equal(loaded.key, ours.key);
    }
  });

  it('reads a legacy 3DES PFX written by forge', () => {
    const { key, cert } = toForge(ours);
    const pfx = forgePfx(key, cert, PFX_PASSWORD, { algorithm: '3des' });
    assert.equal(loadPfx(pfx, PFX_PASSWORD).thumbprint, ours.thumbprint);
  });

  it("reads OpenSSL 3's default PFX (AES-256-CBC, PBKDF2 with HMAC-SHA256, SHA-256 MAC)", { skip: opensslSkip }, async (t) => {
    const pfx = (await opensslPfx(t, ours, PFX_PASSWORD))!;
    assert.match(opensslInfo(pfx, PFX_PASSWORD), /AES-256-CBC/u);
    assert.equal(loadPfx(pfx, PFX_PASSWORD).thumbprint, ours.thumbprint);
  });

  it('reads a legacy Windows-style PFX (RC2-40 certificates, 3DES key) that Node itself refuses', { skip: opensslSkip }, async (t) => {
    const pfx = await opensslPfx(t, ours, PFX_PASSWORD, ['-legacy']);
    if (pfx === undefined) return;
    assert.match(opensslInfo(pfx, PFX_PASSWORD), /pbeWithSHA1And40BitRC2-CBC/u);
    // The reason the PFX reader exists. Only reported: Node started with --openssl-legacy-provider would accept it.
    try {
      createSecureContext({ pfx, passphrase: PFX_PASSWORD });
      t.diagnostic('this Node accepts RC2-40 PFX files itself');
    } catch (err) {
      t.diagnostic(`Node itself refuses this file: ${(err as Error).message}`);
    }
    const loaded = loadPfx(pfx, PFX_PASSWORD);
    assert.equal(loaded.thumbprint, ours.thumbprint);
    assert.equal(loaded.key, ours.key);
    expectError(() => loadPfx(pfx, WRONG_PASSWORD), CertificatePasswordError, 'ERR_CERTIFICATE_PASSWORD');
  });

  it('reads 3DES-only PFX files (Windows "TripleDES-SHA1")', { skip: opensslSkip }, async (t) => {
    const pfx = (await opensslPfx(t, ours, PFX_PASSWORD, ['-certpbe', 'PBE-SHA1-3DES', '-keypbe', 'PBE-SHA1-3DES', '-macalg', 'sha1']))!;
    assert.equal(loadPfx(pfx, PFX_PASSWORD).thumbprint, ours.thumbprint);
  });

  it('encodes a non-ASCII password as each scheme requires (UTF-16 for the MAC and PKCS#12 PBE, UTF-8 for PBES2)', { skip: opensslSkip }, async (t) => {
    const modern = (await opensslPfx(t, ours, NON_ASCII_PASSWORD))!;
    assert.equal(loadPfx(modern, NON_ASCII_PASSWORD).thumbprint, ours.thumbprint);
    const legacy = await opensslPfx(t, ours, NON_ASCII_PASSWORD, ['-legacy']);
    if (legacy !== undefined) assert.equal(loadPfx(legacy, NON_ASCII_PASSWORD).thumbprint, ours.thumbprint);
    expectError(() => loadPfx(modern, 'Passwörd'), CertificatePasswordError, 'ERR_CERTIFICATE_PASSWORD');
  });

  it('treats an empty and a missing password alike, in both the forms tools write', () => {
    const { key, cert } = toForge(ours);
    // forge writes '' as a lone UTF-16 terminator and null as no bytes at all: the two forms of "no password".
    for (const written of ['', null]) {
      const pfx = forgePfx(key, cert, written);
      assert.equal(loadPfx(pfx).thumbprint, ours.thumbprint);
      assert.equal(loadPfx(pfx, '').thumbprint, ours.thumbprint);
      const err = expectError(() => loadPfx(pfx, WRONG_PASSWORD), CertificatePasswordError, 'ERR_CERTIFICATE_PASSWORD');
      assert.equal(err.reason, 'incorrect');
    }
  });

  it('reads a PFX with an empty password written by openssl', { skip: opensslSkip }, async (t) => {
    const modern = (await opensslPfx(t, ours, ''))!;
    assert.equal(loadPfx(modern).thumbprint, ours.thumbprint);
    assert.equal(loadPfx(modern, '').thumbprint, ours.thumbprint);
  });

  it('reads a PFX without an integrity check, still telling a wrong password', { skip: opensslSkip }, async (t) => {
    const pfx = (await opensslPfx(t, ours, PFX_PASSWORD, ['-nomac']))!;
    assert.equal(loadPfx(pfx, PFX_PASSWORD).thumbprint, ours.thumbprint);
    expectError(() => loadPfx(pfx, WRONG_PASSWORD), CertificatePasswordError, 'ERR_CERTIFICATE_PASSWORD');
  });

  it('reports a wrong or missing password as CertificatePasswordError', () => {
    const { key, cert } = toForge(ours);
    const pfx = forgePfx(key, cert, PFX_PASSWORD, { algorithm: 'aes256' });
    const wrong = expectError(() => loadPfx(pfx, WRONG_PASSWORD), CertificatePasswordError, 'ERR_CERTIFICATE_PASSWORD');
    assert.equal(wrong.reason, 'incorrect');
    assert.match(wrong.message, /password for the PFX data is wrong/u);
    for (const none of [undefined, '']) {
      const missing = expectError(() => loadPfx(pfx, none), CertificatePasswordError, 'ERR_CERTIFICATE_PASSWORD');
      assert.equal(missing.reason, 'missing');
      assert.match(missing.message, /protected by a password/u);
    }
  });

  it('reads BER-encoded PFX files (indefinite lengths, chunked content) as BouncyCastle and Java write them', () => {
    const { key, cert } = toForge(ours);
    const der = forgePfx(key, cert, PFX_PASSWORD, { algorithm: '3des' });
    const ber = berPfx(der);
    assert.equal(ber.subarray(0, 2).toString('hex'), '3080', 'indefinite length at the top');
    assert.ok(ber.includes(Buffer.from('2480048203e8', 'hex')), 'chunked content');
    assert.equal(loadPfx(ber, PFX_PASSWORD).thumbprint, ours.thumbprint);
  });

  it('picks the certificate that matches the key when the PFX also holds issuers', () => {
    const { key, cert } = toForge(ours);
    const pfx = forgePfx(key, [toForge(theirs).cert, cert], PFX_PASSWORD, { algorithm: '3des' });
    assert.equal(loadPfx(pfx, PFX_PASSWORD).thumbprint, ours.thumbprint);
  });

  it('reports a PFX whose key belongs to none of its certificates', () => {
    const pfx = forgePfx(toForge(theirs).key, toForge(ours).cert, PFX_PASSWORD);
    const err = expectError(() => loadPfx(pfx, PFX_PASSWORD), CertificateKeyMismatchError, 'ERR_CERTIFICATE_KEY_MISMATCH');
    assert.equal(err.thumbprint, ours.thumbprint);
  });

  it('reports a PFX without a private key', () => {
    const pfx = forgePfx(null, toForge(ours).cert, PFX_PASSWORD);
    const err = expectError(() => loadPfx(pfx, PFX_PASSWORD), CertificateFormatError, 'ERR_CERTIFICATE_FORMAT');
    assert.match(err.message, /holds no private key/u);
  });

  it('reports a PFX without a certificate', { skip: opensslSkip }, async (t) => {
    const pfx = (await opensslPfx(t, ours, PFX_PASSWORD, ['-nocerts']))!;
    const err = expectError(() => loadPfx(pfx, PFX_PASSWORD), CertificateFormatError, 'ERR_CERTIFICATE_FORMAT');
    assert.match(err.message, /no certificate/u);
  });

  it('reports corrupt, truncated and non-PFX input as CertificateFormatError', () => {
    const { key, cert } = toForge(ours);
    const good = forgePfx(key, cert, PFX_PASSWORD, { algorithm: 'aes256' });
    const wrongTag = Buffer.from(good);
    wrongTag[0] = 0x31;
    const cases: Array<[Buffer, RegExp]> = [
      [good.subarray(0, good.length >> 1), /not a readable PFX/u],
      [wrongTag, /not a readable PFX/u],
      [Buffer.from('This is not a certificate at all, just text.'), /not a readable PFX/u],
      [Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919) & 0xff)), /not a readable PFX/u],
      [Buffer.from(ours.cert), /PEM text, not a PFX.*loadPem/u],
      [Buffer.alloc(0), /is empty/u],
    ];
    for (const [bytes, message] of cases) {
      const err = expectError(() => loadPfx(bytes, PFX_PASSWORD), CertificateFormatError, 'ERR_CERTIFICATE_FORMAT');
      assert.match(err.message, message);
    }
  });
});

// ---- files ----

describe('loadCertificateFiles', () => {
  it('loads a PFX file and a certificate/key pair of files', async () => {
    const { key, cert } = toForge(ours);
    const pfx = await tempFile(forgePfx(key, cert, PFX_PASSWORD, { algorithm: '3des' }), 'pfx');
    assert.equal((await loadCertificateFiles({ pfx, password: PFX_PASSWORD })).thumbprint, ours.thumbprint);
    const certFile = await tempFile(ours.cert, 'crt');
    const keyFile = await tempFile(createPrivateKey(ours.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PEM_PASSPHRASE }), 'key');
    assert.equal((await loadCertificateFiles({ cert: certFile, key: keyFile, passphrase: PEM_PASSPHRASE })).thumbprint, ours.thumbprint);
  });

  it('names the file in errors about its content', async () => {
    const { key, cert } = toForge(ours);
    const pfx = await tempFile(forgePfx(key, cert, PFX_PASSWORD), 'pfx');
    const wrong = await expectRejection(loadCertificateFiles({ pfx, password: WRONG_PASSWORD }), CertificatePasswordError, 'ERR_CERTIFICATE_PASSWORD');
    assert.ok(wrong.message.includes(pfx), wrong.message);

    const certFile = await tempFile(ours.cert, 'crt');
    const otherKey = await tempFile(theirs.key, 'key');
    const mismatch = await expectRejection(
      loadCertificateFiles({ cert: certFile, key: otherKey }),
      CertificateKeyMismatchError,
      'ERR_CERTIFICATE_KEY_MISMATCH',
    );
    assert.ok(mismatch.message.includes(otherKey), mismatch.message);

    const notCert = await tempFile('nothing here', 'crt');
    const format = await expectRejection(loadCertificateFiles({ cert: notCert, key: otherKey }), CertificateFormatError, 'ERR_CERTIFICATE_FORMAT');
    assert.ok(format.message.includes(notCert), format.message);
  });

  it('passes file system errors on as they are', async () => {
    await assert.rejects(loadCertificateFiles({ pfx: join(dir, 'missing.pfx') }), { code: 'ENOENT' });
  });
});

// ---- thumbprints ----

describe('thumbprints', () => {
  it('computes SHA-1 and SHA-256 thumbprints from PEM, PEM bytes, DER and chains', () => {
    const der = new X509Certificate(ours.cert).raw;
    for (const input of [ours.cert, Buffer.from(ours.cert), der, `${ours.cert}${theirs.cert}`]) {
      assert.equal(thumbprintOf(input), sha1Hex(der));
      assert.equal(thumbprint256Of(input), ours.thumbprintSha256);
    }
    expectError(() => thumbprintOf('not a certificate'), CertificateFormatError, 'ERR_CERTIFICATE_FORMAT');
    expectError(() => thumbprintOf(Buffer.from([1, 2, 3])), CertificateFormatError, 'ERR_CERTIFICATE_FORMAT');
  });

  const valid = 'A909502DD82AE41433E6F83886B00D4277A32A7B';
  const accepted: Array<[string, string]> = [
    ['Halibut form', valid],
    ['lower case', valid.toLowerCase()],
    ['colons (openssl)', valid.match(/../gu)!.join(':')],
    ['spaces (Windows certificate dialog)', valid.toLowerCase().match(/../gu)!.join(' ')],
    ['leading U+200E (copied from the Windows dialog)', `\u200E${valid.toLowerCase().match(/../gu)!.join(' ')}`],
    ['hyphens (.NET BitConverter)', valid.match(/../gu)!.join('-')],
    ['surrounding whitespace and a line break', `  ${valid}\r\n`],
    ['openssl -fingerprint output', `SHA1 Fingerprint=${valid.match(/../gu)!.join(':')}`],
  ];
  for (const [name, input] of accepted) {
    it(`normalizeThumbprint accepts ${name}`, () => {
      assert.equal(normalizeThumbprint(input), valid);
    });
  }

  const rejected: Array<[string, string, RegExp]> = [
    ['too short', valid.slice(0, 39), /expected 40 hexadecimal digits, got 39/u],
    ['too long', `${valid}AA`, /expected 40 hexadecimal digits, got 42/u],
    ['empty', '', /got 0/u],
    ['non-hex', `${valid.slice(0, 39)}G`, /contains 'G'/u],
    ['a SHA-256 thumbprint', 'A'.repeat(64), /SHA-256 thumbprint/u],
    ['an invisible character other than the marks Windows adds', `${valid.slice(0, 20)}\u00AD${valid.slice(20)}`, /U\+00AD/u],
  ];
  for (const [name, input, message] of rejected) {
    it(`normalizeThumbprint rejects ${name}, naming the value`, () => {
      const err = expectError(() => normalizeThumbprint(input), InvalidThumbprintError, 'ERR_INVALID_THUMBPRINT');
      assert.match(err.message, message);
      assert.equal(err.value, input);
      if (input.length > 0) assert.ok(err.message.includes(input.slice(0, 8)), err.message);
    });
  }

  it('normalizeThumbprint rejects non-strings', () => {
    expectError(() => normalizeThumbprint(undefined as unknown as string), InvalidThumbprintError, 'ERR_INVALID_THUMBPRINT');
  });
});

// ---- toIdentity ----

describe('toIdentity', () => {
  it('returns identities as they are', () => {
    assert.equal(toIdentity(ours), ours);
  });

  it('loads a PEM pair, with a passphrase when given', () => {
    assert.equal(toIdentity({ cert: ours.cert, key: ours.key }).thumbprint, ours.thumbprint);
    const encrypted = createPrivateKey(ours.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PEM_PASSPHRASE });
    assert.equal(toIdentity({ cert: ours.cert, key: encrypted, passphrase: PEM_PASSPHRASE }).thumbprint, ours.thumbprint);
    expectError(() => toIdentity({ cert: ours.cert, key: encrypted }), CertificatePasswordError, 'ERR_CERTIFICATE_PASSWORD');
  });

  it('explains that a copied identity has lost its key', () => {
    // TypeScript believes a spread keeps the key; at run time it does not, which is the point.
    const copy = { ...ours };
    assert.throws(() => toIdentity(copy), /no private key.*pass the identity object itself/su);
    assert.throws(() => toIdentity(JSON.parse(JSON.stringify(ours)) as CertificateIdentity), /no private key/u);
    assert.throws(() => toIdentity(null as unknown as CertificateIdentity), TypeError);
  });

  it('re-checks identity-shaped objects it did not make', () => {
    const forged = { ...ours, key: theirs.key } as CertificateIdentity;
    expectError(() => toIdentity(forged), CertificateKeyMismatchError, 'ERR_CERTIFICATE_KEY_MISMATCH');
  });
});
