import { randomBytes } from 'crypto';

/** A random, URL-safe ID with a readable prefix, e.g. `run_3f9a1c0b7d2e4a5b`. */
export function newId(prefix: 'run' | 'bot'): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}
