/**
 * What text the stores keep. JSON, and so the API, admits any UTF-16 string: `\u0000` and lone
 * surrogates (`\ud800`) included. PostgreSQL refuses U+0000 in TEXT ("invalid byte sequence for
 * encoding UTF8: 0x00"), and neither store can keep a lone surrogate as valid UTF-8 (PostgreSQL
 * reads it back as one U+FFFD, SQLite as three). Both stores therefore write every free-text value
 * (flow names, principals, idempotency keys, output, error text, audit records) through
 * storableText(), and read back the same string: each NUL and each lone surrogate becomes U+FFFD,
 * the Unicode replacement character, and everything else is kept as given. Run inputs are kept
 * as JSON text, whose escapes carry both exactly.
 */

export const REPLACEMENT_CHARACTER = '\ufffd';

/** A NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** The quick test: most text has neither a NUL nor any surrogate. */
const SUSPECT = /[\u0000\ud800-\udfff]/;

/** The text as both stores keep it: each NUL and each lone surrogate replaced by U+FFFD. */
export function storableText(text: string): string {
  return SUSPECT.test(text) ? text.replace(UNSTORABLE, REPLACEMENT_CHARACTER) : text;
}

/** storableText() of a value that may be absent. */
export function storableOptional(text: string | undefined): string | undefined {
  return text === undefined ? undefined : storableText(text);
}
