import { randomBytes } from 'crypto';

let lastMs = 0;
let counter = 0;

/**
 * A unique, URL-safe ID with a readable prefix, e.g. `run_19ac0b7d2e4a5f3c2b1a9e07`: 11 hex digits
 * of milliseconds, 5 of a per-millisecond counter started at a random value, and 8 random ones, so
 * replicas never collide. IDs created later sort later, so index inserts append instead of
 * landing on random pages.
 */
export function newId(prefix: 'run' | 'bot'): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    counter = randomBytes(3).readUIntBE(0, 3) & 0x7ffff;
  } else {
    counter = (counter + 1) & 0xfffff;
  }
  return `${prefix}_${now.toString(16).padStart(11, '0').slice(-11)}${counter.toString(16).padStart(5, '0')}${randomBytes(4).toString('hex')}`;
}
