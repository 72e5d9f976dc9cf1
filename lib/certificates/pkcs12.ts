/**
 * A small PKCS#12 (PFX) reader built on node-forge's ASN.1 and password-based-encryption primitives.
 *
 * Why not Node: Node can load a PFX into a TLS context but has no API to get the certificate and key back out, and
 * OpenSSL 3 refuses the RC2-40 encryption older Windows and .NET exports use ("Unsupported PKCS12 PFX data").
 *
 * Why not `forge.pkcs12.pkcs12FromAsn1`: it works for ASCII passwords, but
 *  - it passes one password string to both the integrity check and decryption, while the two encode it differently
 *    (the PKCS#12 KDF takes the password as UTF-16 (BMPString), PBES2 as UTF-8 bytes), so every modern (AES) PFX
 *    with a non-ASCII password fails to open;
 *  - it re-parses certificates into forge objects; re-encoding those can change bytes (e.g. a missing NULL in the
 *    signature algorithm) and with them the thumbprint, which must be exact. Here certificates stay the stored DER;
 *  - it decodes only RSA keys. Here keys stay PKCS#8 DER for Node to read, whatever the algorithm.
 * What is left of the format is a handful of nested SEQUENCEs, walked below.
 */
import forge from 'node-forge';

/** What a PFX holds, as DER, in the order stored. */
export interface Pkcs12Contents {
  /** Decrypted private keys: PKCS#8 `PrivateKeyInfo` DER. */
  readonly keys: Buffer[];
  /** X.509 certificates, byte for byte as stored. */
  readonly certificates: Buffer[];
}

/** Why a PFX could not be read; the loader turns it into a public error with the file's name. */
export class Pkcs12ReadError extends Error {
  constructor(
    readonly kind: 'format' | 'unsupported' | 'password-missing' | 'password-incorrect',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Decryption produced bad padding: the usual sign of a wrong password when there is no integrity check to ask. */
class DecryptFailure extends Error {}

type Asn1 = forge.asn1.Asn1;

interface PbeCipher {
  update(input: forge.util.ByteStringBuffer): void;
  finish(): boolean;
  output: forge.util.ByteStringBuffer;
}

// Public in forge (and documented in its README) but missing from @types/node-forge.
const pbe = (forge.pki as unknown as { pbe: { getCipher(oid: string, params: Asn1, password: string | null): PbeCipher } }).pbe;

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  safeContentsBag: '1.2.840.113549.1.12.10.1.6',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  pbes2: '1.2.840.113549.1.5.13',
  pbmac1: '1.2.840.113549.1.5.14',
  pbeSha1With3Des: '1.2.840.113549.1.12.1.3',
  pbeSha1WithRc2_40: '1.2.840.113549.1.12.1.6',
} as const;

/** Algorithm names for messages about what is not supported. */
const ALGORITHM_NAMES: Record<string, string> = {
  '1.2.840.113549.1.12.1.1': 'pbeWithSHAAnd128BitRC4',
  '1.2.840.113549.1.12.1.2': 'pbeWithSHAAnd40BitRC4',
  '1.2.840.113549.1.12.1.4': 'pbeWithSHAAnd2-KeyTripleDES-CBC',
  '1.2.840.113549.1.12.1.5': 'pbeWithSHAAnd128BitRC2-CBC',
  '1.2.840.113549.1.5.3': 'pbeWithMD5AndDES-CBC',
  '1.2.840.113549.1.5.10': 'pbeWithSHA1AndDES-CBC',
  [OID.pbmac1]: 'PBMAC1',
};

const MAC_DIGESTS: Record<string, () => forge.md.MessageDigest> = {
  '1.3.14.3.2.26': () => forge.md.sha1.create(),
  '2.16.840.1.101.3.4.2.1': () => forge.md.sha256.create(),
  '2.16.840.1.101.3.4.2.2': () => forge.md.sha384.create(),
  '2.16.840.1.101.3.4.2.3': () => forge.md.sha512.create(),
};

/**
 * Reads the keys and certificates out of a PFX.
 *
 * An empty or missing password is tried in both forms PKCS#12 allows, as Windows and OpenSSL do: an empty
 * string (a lone UTF-16 terminator) and no password at all (zero bytes). Different tools write different ones.
 *
 * @throws {@link Pkcs12ReadError}
 */
export function readPkcs12(der: Buffer, password: string | undefined): Pkcs12Contents {
  const pfx = fromDer(der.toString('binary'), 'the PFX');
  const [version, authSafe, macData] = sequence(pfx, 'PFX', 2);
  const v = integer(version!, 'PFX version');
  if (v !== 3) throw new Pkcs12ReadError('unsupported', `PKCS#12 version ${v} is not supported (expected 3)`);

  const [contentType, content] = sequence(authSafe!, 'PFX content', 1);
  const type = oid(contentType!, 'PFX content type');
  if (type === OID.signedData) {
    throw new Pkcs12ReadError('unsupported', 'PFX files protected by a signature (public-key integrity mode) are not supported; export it with a password');
  }
  if (type !== OID.data || content === undefined) throw new Pkcs12ReadError('format', 'the PFX content is not PKCS#7 data');
  const authSafeBytes = octets(explicit(content, 'PFX content'), 'PFX content');

  const empty = password === undefined || password === '';
  const candidates: Array<string | null> = empty ? ['', null] : [password];
  const wrongPassword = (cause?: unknown): Pkcs12ReadError =>
    empty
      ? new Pkcs12ReadError('password-missing', 'the PFX is protected by a password and none was given', { cause })
      : new Pkcs12ReadError('password-incorrect', 'the PFX password is wrong (or the file is damaged)', { cause });

  if (macData !== undefined) {
    const verified = candidates.findIndex((candidate) => macMatches(macData, authSafeBytes, candidate));
    if (verified < 0) throw wrongPassword();
    try {
      return readAuthenticatedSafe(authSafeBytes, candidates[verified] as string | null);
    } catch (err) {
      // The integrity check accepted the password, so a failure to decrypt means damage, not a wrong password.
      if (err instanceof DecryptFailure) {
        throw new Pkcs12ReadError('format', 'the PFX content could not be decrypted although its password is right', { cause: err });
      }
      throw err;
    }
  }
  // Without an integrity check (`openssl pkcs12 -nomac`), decryption is the only test of the password.
  let failure: unknown;
  for (const candidate of candidates) {
    try {
      return readAuthenticatedSafe(authSafeBytes, candidate);
    } catch (err) {
      if (!(err instanceof DecryptFailure)) throw err;
      failure = err;
    }
  }
  throw wrongPassword(failure);
}

function macMatches(macData: Asn1, authSafe: string, password: string | null): boolean {
  const [digestInfo, saltNode, iterationsNode] = sequence(macData, 'PFX MAC', 2);
  const [algorithm, digest] = sequence(digestInfo!, 'PFX MAC digest', 2);
  const [algorithmOid] = sequence(algorithm!, 'PFX MAC algorithm', 1);
  const digestOid = oid(algorithmOid!, 'PFX MAC algorithm');
  const createMd = MAC_DIGESTS[digestOid];
  if (createMd === undefined) {
    throw new Pkcs12ReadError('unsupported', `the PFX integrity check uses ${ALGORITHM_NAMES[digestOid] ?? `algorithm ${digestOid}`}, which is not supported`);
  }
  const iterations = iterationsNode === undefined ? 1 : integer(iterationsNode, 'PFX MAC iterations');
  if (iterations < 1) throw new Pkcs12ReadError('format', 'the PFX MAC iteration count is not positive');
  const salt = forge.util.createBuffer(primitive(saltNode!, 'PFX MAC salt'));
  const length = createMd().digestLength;
  // PKCS#12 key derivation, purpose 3 (MAC); forge encodes the password as UTF-16 with a terminator, or as nothing
  // for null, which is exactly the two "empty password" forms.
  const key = forge.pkcs12.generateKey(password, salt, 3, iterations, length, createMd());
  const hmac = forge.hmac.create();
  hmac.start(createMd(), key);
  hmac.update(authSafe);
  return hmac.getMac().getBytes() === primitive(digest!, 'PFX MAC digest');
}

function readAuthenticatedSafe(bytes: string, password: string | null): Pkcs12Contents {
  const out = { keys: [] as Buffer[], certificates: [] as Buffer[] };
  for (const contentInfo of children(fromDer(bytes, 'the PFX contents'), 'PFX contents')) {
    const [typeNode, content] = sequence(contentInfo, 'PFX content block', 1);
    const type = oid(typeNode!, 'PFX content block type');
    if (content === undefined) continue;
    let safeContents: string;
    if (type === OID.data) {
      safeContents = octets(explicit(content, 'PFX data block'), 'PFX data block');
    } else if (type === OID.encryptedData) {
      safeContents = decryptEncryptedData(explicit(content, 'PFX encrypted block'), password);
    } else if (type === OID.envelopedData) {
      throw new Pkcs12ReadError('unsupported', 'PFX content encrypted to a recipient certificate (enveloped data) is not supported');
    } else {
      throw new Pkcs12ReadError('unsupported', `PFX content of type ${type} is not supported`);
    }
    readSafeContents(fromDer(safeContents, 'the PFX bag list'), password, out, 0);
  }
  return out;
}

function decryptEncryptedData(encryptedData: Asn1, password: string | null): string {
  const [, encryptedContentInfo] = sequence(encryptedData, 'PFX encrypted data', 2);
  const [, algorithm, encrypted] = sequence(encryptedContentInfo!, 'PFX encrypted content', 2);
  // [0] IMPLICIT OCTET STRING: primitive, or constructed from chunks in BER.
  if (encrypted === undefined) return '';
  return decrypt(algorithm!, octets(encrypted, 'PFX encrypted content'), password);
}

function readSafeContents(list: Asn1, password: string | null, out: { keys: Buffer[]; certificates: Buffer[] }, depth: number): void {
  if (depth > 4) throw new Pkcs12ReadError('format', 'the PFX nests bag lists too deeply');
  for (const bag of children(list, 'PFX bag list')) {
    const [idNode, valueNode] = sequence(bag, 'PFX bag', 2);
    const id = oid(idNode!, 'PFX bag type');
    const value = explicit(valueNode!, 'PFX bag value');
    switch (id) {
      case OID.keyBag:
        out.keys.push(toBuffer(forge.asn1.toDer(value).getBytes()));
        break;
      case OID.pkcs8ShroudedKeyBag: {
        const [algorithm, encrypted] = sequence(value, 'PFX encrypted key', 2);
        out.keys.push(toBuffer(decrypt(algorithm!, octets(encrypted!, 'PFX encrypted key'), password)));
        break;
      }
      case OID.certBag: {
        const [typeNode, certValue] = sequence(value, 'PFX certificate bag', 2);
        // Other certificate types (SDSI) exist on paper only; skipping them is what every reader does.
        if (oid(typeNode!, 'PFX certificate type') === OID.x509Certificate) {
          out.certificates.push(toBuffer(octets(explicit(certValue!, 'PFX certificate'), 'PFX certificate')));
        }
        break;
      }
      case OID.safeContentsBag:
        readSafeContents(value, password, out, depth + 1);
        break;
      default:
        // CRLs and secrets are no use for TLS.
        break;
    }
  }
}

/**
 * Decrypts with a PKCS#12 PBE (3DES, RC2-40) or PBES2 (AES, 3DES) scheme. The password is encoded per scheme:
 * PKCS#12's KDF takes the JS string (forge makes UTF-16 of it); PBES2 takes UTF-8 bytes, as OpenSSL and Windows do.
 */
function decrypt(algorithm: Asn1, encrypted: string, password: string | null): string {
  const [algorithmOid, params] = sequence(algorithm, 'encryption algorithm', 1);
  const id = oid(algorithmOid!, 'encryption algorithm');
  if (id !== OID.pbes2 && id !== OID.pbeSha1With3Des && id !== OID.pbeSha1WithRc2_40) {
    throw new Pkcs12ReadError('unsupported', `the PFX is encrypted with ${ALGORITHM_NAMES[id] ?? `algorithm ${id}`}, which is not supported`);
  }
  if (params === undefined) throw new Pkcs12ReadError('format', 'the PFX encryption parameters are missing');
  let cipher: PbeCipher;
  try {
    cipher = pbe.getCipher(id, params, id === OID.pbes2 ? forge.util.encodeUtf8(password ?? '') : password);
  } catch (err) {
    // forge throws for PBES2 ciphers and PRFs it lacks (e.g. AES-GCM), naming them.
    throw new Pkcs12ReadError('unsupported', `the PFX encryption is not supported: ${(err as Error).message}`, { cause: err });
  }
  cipher.update(forge.util.createBuffer(encrypted));
  if (!cipher.finish()) throw new DecryptFailure('bad padding after decryption');
  return cipher.output.getBytes();
}

// --- ASN.1 walking. forge gives untyped nodes; these check shape as they go, so damage becomes a clear error. ---

function fromDer(bytes: string, what: string): Asn1 {
  try {
    // Strict still reads the BER that Windows and Java write (indefinite lengths, chunked strings); lenient mode
    // would also silently accept a truncated file, cutting values short instead of failing.
    return forge.asn1.fromDer(bytes, true);
  } catch (err) {
    throw new Pkcs12ReadError('format', `${what} is not valid ASN.1 (${(err as Error).message})`, { cause: err });
  }
}

function children(node: Asn1, what: string): Asn1[] {
  if (!node.constructed || !Array.isArray(node.value)) throw new Pkcs12ReadError('format', `the ${what} is malformed`);
  return node.value;
}

/** A SEQUENCE's elements, requiring at least `min`. */
function sequence(node: Asn1, what: string, min: number): Array<Asn1 | undefined> {
  const items = children(node, what);
  if (node.tagClass !== forge.asn1.Class.UNIVERSAL || node.type !== forge.asn1.Type.SEQUENCE || items.length < min) {
    throw new Pkcs12ReadError('format', `the ${what} is malformed`);
  }
  return items;
}

/** The content of an `[n] EXPLICIT` wrapper. */
function explicit(node: Asn1, what: string): Asn1 {
  const inner = children(node, what)[0];
  if (node.tagClass !== forge.asn1.Class.CONTEXT_SPECIFIC || inner === undefined) throw new Pkcs12ReadError('format', `the ${what} is malformed`);
  return inner;
}

function primitive(node: Asn1, what: string): string {
  if (node.constructed || typeof node.value !== 'string') throw new Pkcs12ReadError('format', `the ${what} is malformed`);
  return node.value;
}

/** An OCTET STRING's bytes, joining the chunks of a constructed (BER) one. */
function octets(node: Asn1, what: string): string {
  if (!node.constructed) return primitive(node, what);
  return children(node, what)
    .map((chunk) => octets(chunk, what))
    .join('');
}

function oid(node: Asn1, what: string): string {
  if (node.tagClass !== forge.asn1.Class.UNIVERSAL || node.type !== forge.asn1.Type.OID) {
    throw new Pkcs12ReadError('format', `the ${what} is malformed`);
  }
  return forge.asn1.derToOid(primitive(node, what));
}

function integer(node: Asn1, what: string): number {
  const bytes = primitive(node, what);
  if (node.tagClass !== forge.asn1.Class.UNIVERSAL || node.type !== forge.asn1.Type.INTEGER || bytes.length === 0 || bytes.length > 4) {
    throw new Pkcs12ReadError('format', `the ${what} is malformed`);
  }
  return forge.asn1.derToInteger(bytes);
}

function toBuffer(binary: string): Buffer {
  return Buffer.from(binary, 'binary');
}
