/**
 * The one piece of authentication the proxy does itself: the RSA leg of
 * caching_sha2_password / sha256_password full authentication, when the
 * client's link and the upstream link differ in TLS. The server still
 * checks the password; the proxy only re-wraps it for the other link.
 */
import { constants, generateKeyPairSync, type KeyObject, privateDecrypt, publicEncrypt } from 'node:crypto';
import { ProtocolError } from '../../proxy/protocol-error.ts';

/** `password\0` XOR the scramble, repeated: what the RSA envelope carries. */
export function xorWithScramble(passwordWithNul: Buffer, scramble: Buffer): Buffer {
  if (scramble.length === 0) throw new ProtocolError('empty scramble', 'caching_sha2_password', 0);
  const out = Buffer.alloc(passwordWithNul.length);
  for (let i = 0; i < out.length; i++) out[i] = passwordWithNul[i]! ^ scramble[i % scramble.length]!;
  return out;
}

/**
 * Encrypts a cleartext password (with or without its trailing NUL) with the
 * server's PEM public key, as a client does after requesting the key
 * (OAEP padding, as MySQL 8.0.5+ servers expect).
 */
export function encryptPassword(password: Buffer, scramble: Buffer, publicKeyPem: string | Buffer): Buffer {
  const withNul =
    password.length > 0 && password[password.length - 1] === 0
      ? password
      : Buffer.concat([password, Buffer.from([0])]);
  return publicEncrypt(
    { key: publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING },
    xorWithScramble(withNul, scramble),
  );
}

/** The inverse of `encryptPassword`: the cleartext password with its trailing NUL. */
export function decryptPassword(cipher: Buffer, scramble: Buffer, privateKey: KeyObject): Buffer {
  let plain: Buffer;
  try {
    plain = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, cipher);
  } catch (err) {
    throw new ProtocolError(
      `RSA-encrypted password does not decrypt: ${(err as Error).message}`,
      'caching_sha2_password',
      0,
    );
  }
  return xorWithScramble(plain, scramble);
}

let proxyKey: { publicPem: string; privateKey: KeyObject } | null = null;

/** The proxy's own RSA key pair, made once per process, offered to clients that ask for a public key. */
export function proxyRsaKey(): { publicPem: string; privateKey: KeyObject } {
  if (proxyKey === null) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    proxyKey = { publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey };
  }
  return proxyKey;
}
