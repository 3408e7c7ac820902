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

/**
 * The longest text a line keeps of one string field. Longer text is cut before any pattern runs,
 * so the work of redacting a line is bounded whatever a client sends.
 */
export const MAX_LOGGED_CHARS = 2048;

/** `text`, cut to MAX_LOGGED_CHARS with a note of how much was left out. */
export function cutText(text: string): string {
  return text.length <= MAX_LOGGED_CHARS ? text : `${text.slice(0, MAX_LOGGED_CHARS)}…[${text.length - MAX_LOGGED_CHARS} more characters]`;
}

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
const isSchemeChar = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '+' || c === '.' || c === '-';
const isLetter = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

/**
 * Masks the password of every `scheme://user:password@` in `text`. A scan, not a pattern: each
 * character is looked at a bounded number of times, so long text without `@` costs no more than
 * its length (the backtracking pattern this replaces took time quadratic in it). What it masks is
 * what that pattern masked: a scheme, a user without `:`, `/`, `@` or white space, and a password
 * up to the `@`, without white space.
 */
function maskUrlPasswords(text: string): string {
  let out = '';
  let copied = 0;
  // Past a failed search for '@', the text up to here holds none before white space or the end.
  let noAtUntil = -1;
  for (let at = text.indexOf('://'); at !== -1; at = text.indexOf('://', at + 3)) {
    // The scheme: a letter, then letters, digits, +, . or -, right before "://".
    let start = at;
    while (start > copied && isSchemeChar(text[start - 1])) start -= 1;
    while (start < at && !isLetter(text[start])) start += 1;
    if (start === at) continue;
    let colon = at + 3;
    while (colon < text.length && text[colon] !== ':' && text[colon] !== '/' && text[colon] !== '@' && !isSpace(text[colon])) colon += 1;
    if (colon === at + 3 || text[colon] !== ':' || colon + 1 <= noAtUntil) continue;
    let end = colon + 1;
    while (end < text.length && text[end] !== '@' && !isSpace(text[end])) end += 1;
    if (text[end] !== '@') {
      noAtUntil = end;
      continue;
    }
    if (end === colon + 1) continue;
    out += text.slice(copied, colon + 1) + MASK;
    copied = end;
    at = end - 2;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * Masks secrets inside a string: URL passwords, bearer tokens, `password=…` and key pairs. Each
 * step takes time linear in the text (no pattern here can backtrack over it).
 */
export function redactText(text: string): string {
  return maskUrlPasswords(text)
    .replace(/(bearer\s+)[\x21-\x7e]+/gi, `$1${MASK}`)
    .replace(SECRET_PAIR, `$1=${MASK}`);
}

/** A copy of `value` with secrets masked, to any depth. */
export function redact(value: unknown, key = ''): unknown {
  if (key && SECRET_KEY.test(key)) return MASK;
  if (typeof value === 'string') return redactText(cutText(value));
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (value instanceof Error) return redactText(cutText(value.message));
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
    const level = levelOf(event);
    // Nothing is redacted or formatted for a level that is off.
    if (!logger.isLevelEnabled(level)) return;
    logger[level](redact(fields) as object, event);
  };
}
