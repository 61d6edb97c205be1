// The server key that encrypts secrets at rest: STACKYARD_SECRET_KEY (32 bytes, base64 or hex),
// else a key file, created with a random key on first start and readable only by its owner.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function parseSecretKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new Error(`${source} must hold a 32-byte key, as 64 hex digits or base64 (try: openssl rand -base64 32)`);
  return key;
}

export function loadSecretKey(options: { secretKey?: string; secretKeyFile: string }): Buffer {
  if (options.secretKey) return parseSecretKey(options.secretKey, 'STACKYARD_SECRET_KEY');
  try {
    return parseSecretKey(readFileSync(options.secretKeyFile, 'utf8'), options.secretKeyFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(options.secretKeyFile), { recursive: true });
  const key = randomBytes(32);
  // 'wx' fails if another server created the file meanwhile; then read the one it wrote.
  try {
    writeFileSync(options.secretKeyFile, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return parseSecretKey(readFileSync(options.secretKeyFile, 'utf8'), options.secretKeyFile);
  }
}
