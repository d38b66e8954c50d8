import { randomBytes } from 'node:crypto';

/**
 * New credentials, random and URL-safe (base64url: they travel as `?token=` and `?apiKey=`
 * too). A copier token and a signing secret carry 32 random bytes, an API key 18: the key
 * only names the lead (the secret proves it), and stays within the id column's 64 bytes.
 */
export const newCopierToken = (): string => randomBytes(32).toString('base64url');
export const newSigningSecret = (): string => randomBytes(32).toString('base64url');
export const newApiKey = (): string => `ak_${randomBytes(18).toString('base64url')}`;
