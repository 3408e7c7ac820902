/**
 * Structured logs: one JSON object per line, with the event name and the IDs involved. Secrets
 * never reach a line: fields named like a secret are masked, and connection strings with a
 * password or bearer tokens inside any text are masked too.
 */
export type Log = (event: string, fields?: Record<string, unknown>) => void;

export const silentLog: Log = () => undefined;

const SECRET_KEY = /token|password|passwd|secret|authorization|cookie|connectionstring|credential|apikey|api_key/i;
const MASK = '[redacted]';

/** Masks secrets inside a string: URL passwords, bearer tokens, `password=…` pairs. */
export function redactText(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi, `$1${MASK}@`)
    .replace(/(bearer\s+)[\x21-\x7e]+/gi, `$1${MASK}`)
    .replace(/\b(password|pwd|secret|token)=([^;&\s]+)/gi, `$1=${MASK}`);
}

/** A copy of `value` with secrets masked, to any depth. */
export function redact(value: unknown, key = ''): unknown {
  if (key && SECRET_KEY.test(key)) return MASK;
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (value instanceof Error) return redactText(value.message);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  return value;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Writes redacted JSON lines to a stream (stderr by default). */
export function jsonLog(stream: NodeJS.WritableStream = process.stderr, base: Record<string, unknown> = {}): Log {
  return (event, fields = {}) => {
    stream.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...(redact({ ...base, ...fields }) as object) })}\n`);
  };
}
