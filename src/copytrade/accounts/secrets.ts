import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * The credentials tradeflow keeps, as it keeps them: a copier's token only as its SHA-256
 * (the token is shown once, and a hash is enough to recognise it), a lead's signing secret
 * encrypted (the ingress needs it back to check signatures) with AES-256-GCM under
 * TF_SECRET_KEY, stored as iv | tag | ciphertext. GCM's tag makes a changed byte, or another
 * key, an error rather than a wrong secret.
 */

const IV_BYTES = 12;
const TAG_BYTES = 16;
export const SECRET_KEY_BYTES = 32;

/** A stored secret that does not open: another key, or bytes changed since it was written. */
export class SecretError extends Error {
  constructor(problem: string) {
    super(`encrypted secret: ${problem}`);
    this.name = 'SecretError';
  }
}

/** SHA-256 of the token's UTF-8 bytes: two tokens that differ in one byte differ here. */
export const hashToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

const checkKey = (key: Buffer): void => {
  if (key.length !== SECRET_KEY_BYTES) throw new SecretError(`the key must be ${SECRET_KEY_BYTES} bytes`);
};

/** iv | tag | ciphertext of `secret`, with a fresh random iv each time. */
export function encryptSecret(secret: string, key: Buffer): Buffer {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** The secret `encryptSecret` sealed; a SecretError if the key is another or a byte changed. */
export function decryptSecret(sealed: Buffer, key: Buffer): string {
  checkKey(key);
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new SecretError(`${sealed.length} bytes is too short`);
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    throw new SecretError('does not open with this key (another key, or tampered)');
  }
}
