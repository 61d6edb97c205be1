// Encrypts the secret settings of components at rest (AES-256-GCM with the server key). Each
// value is encrypted on its own, so the names of the secrets that are set stay readable.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const PREFIX = 'enc:v1:';

export function isEncrypted(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(PREFIX);
}

export function encryptValue(key: Buffer, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return `${PREFIX}${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${data.toString('base64')}`;
}

export function decryptValue(key: Buffer, stored: string): unknown {
  const [iv, tag, data] = stored.slice(PREFIX.length).split(':');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  return JSON.parse(Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8'));
}

export function encryptSecrets(key: Buffer, secrets: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(secrets).map(([name, value]) => [name, isEncrypted(value) ? value : encryptValue(key, value)]));
}

export function decryptSecrets(key: Buffer, secrets: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(secrets).map(([name, value]) => [name, isEncrypted(value) ? decryptValue(key, value) : value]));
}
