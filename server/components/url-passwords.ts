// A URL setting whose password is secret (redis://user:password@host): the configuration shows
// the URL with the password masked, and the whole URL is kept encrypted among the secrets.
import { ValidationError } from '../errors';

/** What a secret password looks like wherever the configuration is shown. */
export const MASKED_PASSWORD = '****';

function parse(value: string, field: string): URL {
  try {
    return new URL(value);
  } catch {
    throw new ValidationError(`${field} is not a valid URL`, field);
  }
}

/**
 * The URL's password as written (percent-encoded), or '' when it has none. Refuses a URL without
 * a host, and one that carries a password elsewhere than its user part (?password=...), where it
 * would be shown: clients such as ioredis take one from the query too.
 */
export function urlPassword(value: string, field: string): string {
  const url = parse(value, field);
  if (!url.hostname) throw new ValidationError(`${field} needs a host`, field);
  for (const name of url.searchParams.keys()) {
    if (/^(password|pass|pwd|username|user)$/i.test(name)) {
      throw new ValidationError(`${field} carries "${name}" in its query; give credentials as scheme://user:password@host, where the password is kept secret`, field);
    }
  }
  return url.password;
}

/** The URL with its password replaced by MASKED_PASSWORD. */
export function maskUrlPassword(value: string): string {
  const url = new URL(value);
  url.password = MASKED_PASSWORD;
  return url.toString();
}
