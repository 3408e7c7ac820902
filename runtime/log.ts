/**
 * Structured logs through pino: one JSON object per line, with the event name and the IDs
 * involved (run, bot, group). Secrets never reach a line: fields named like a secret are masked,
 * and connection strings with a password or key, SAS signatures and bearer tokens inside any text
 * are masked too.
 */
import pino from 'pino';

export type Log = (event: string, fields?: Record<string, unknown>) => void;

export const silentLog: Log = () => undefined;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

const SECRET_KEY = /token|password|passwd|secret|authorization|cookie|connectionstring|credential|apikey|api_key/i;
const MASK = '[redacted]';

/**
 * Secret `key=value` pairs in connection strings and query strings: passwords, Azure Storage
 * account keys and shared access keys, SAS signatures (`sig=`), OAuth client secrets.
 */
const SECRET_PAIR = /\b(password|pwd|secret|token|accountkey|sharedaccesskey|accesskey|client_secret|sig)=([^;&\s]+)/gi;

/** Masks secrets inside a string: URL passwords, bearer tokens, `password=…` and key pairs. */
export function redactText(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi, `$1${MASK}@`)
    .replace(/(bearer\s+)[\x21-\x7e]+/gi, `$1${MASK}`)
    .replace(SECRET_PAIR, `$1=${MASK}`);
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

/** Events that report something going wrong are logged as warnings; the rest as info. */
function levelOf(event: string): 'info' | 'warn' | 'error' {
  if (/(^|\.)api\.error$|_failed$|\.failed$/.test(event)) return 'error';
  if (/error|retry|lost|unplaced|gone|refused/.test(event)) return 'warn';
  return 'info';
}

export interface LogOptions {
  /** @default HOSTED_BOTS_LOG_LEVEL, else 'info' */
  readonly level?: LogLevel;
  /** @default stderr */
  readonly stream?: NodeJS.WritableStream;
  /** Fields on every line, e.g. `{ component: 'runtime' }`. */
  readonly base?: Record<string, unknown>;
}

/** The level from the environment, checked. */
export function levelFromEnv(fallback: LogLevel = 'info'): LogLevel {
  const value = process.env.HOSTED_BOTS_LOG_LEVEL;
  if (value === undefined || value === '') return fallback;
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new Error(`HOSTED_BOTS_LOG_LEVEL "${value}" is not a level; use one of ${LOG_LEVELS.join(', ')}`);
  }
  return value as LogLevel;
}

/** A pino logger behind the runtime's `Log` shape. */
export function createLog(options: LogOptions = {}): Log {
  const logger = pino(
    {
      level: options.level ?? levelFromEnv(),
      base: options.base ?? {},
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'event',
      formatters: { level: (label) => ({ level: label }) },
      // A second line of defence, should a secret arrive under a well-known name.
      redact: { paths: ['token', 'password', 'authorization', '*.token', '*.password', '*.authorization', 'headers.authorization'], censor: MASK },
    },
    options.stream ?? pino.destination({ fd: 2, sync: true }),
  );
  return (event, fields = {}) => {
    logger[levelOf(event)](redact(fields) as object, event);
  };
}
