import { REPLACEMENT_CHARACTER, storableOptional, storableText } from '../../../runtime/domain/text';

describe('storableText', () => {
  test.each([
    ['plain text', 'invoice 42', 'invoice 42'],
    ['the empty string', '', ''],
    ['a NUL', 'a\u0000b', 'a\ufffdb'],
    ['NULs only', '\u0000\u0000', '\ufffd\ufffd'],
    ['a high surrogate at the end', 'x\ud800', 'x\ufffd'],
    ['a high surrogate before plain text', '\ud83dx', '\ufffdx'],
    ['a low surrogate at the start', '\ude00x', '\ufffdx'],
    ['two high surrogates, then a low one', '\ud800\ud83d\ude00', '\ufffd😀'],
    ['a surrogate pair (an emoji)', 'ok 😀', 'ok 😀'],
    ['control characters other than NUL', '\u0001\t\n\u001f', '\u0001\t\n\u001f'],
    ['the replacement character itself', '\ufffd', '\ufffd'],
  ])('%s', (_name, given, kept) => {
    expect(storableText(given)).toBe(kept);
  });

  test('the result is well-formed: encoding it as UTF-8 and back changes nothing', () => {
    const text = storableText('a\u0000\ud800b\udc00😀');
    expect(Buffer.from(text, 'utf8').toString('utf8')).toBe(text);
    expect(text).not.toContain('\u0000');
    expect(text.split(REPLACEMENT_CHARACTER)).toHaveLength(4);
  });

  test('an absent value stays absent', () => {
    expect(storableOptional(undefined)).toBeUndefined();
    expect(storableOptional('\u0000')).toBe('\ufffd');
  });
});
