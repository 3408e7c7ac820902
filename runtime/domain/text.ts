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

/** A high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** The quick test: most text has no surrogate at all. */
const ANY_SURROGATE = /[\ud800-\udfff]/;

/** The text as both stores keep it: each NUL and each lone surrogate replaced by U+FFFD. */
export function storableText(text: string): string {
  // NULs apart: output read as the wrong encoding (UTF-16 as bytes) holds one in every two characters.
  const withoutNul = text.includes('\u0000') ? text.replaceAll('\u0000', REPLACEMENT_CHARACTER) : text;
  return ANY_SURROGATE.test(withoutNul) ? withoutNul.replace(LONE_SURROGATE, REPLACEMENT_CHARACTER) : withoutNul;
}

/** storableText() of a value that may be absent. */
export function storableOptional(text: string | undefined): string | undefined {
  return text === undefined ? undefined : storableText(text);
}
