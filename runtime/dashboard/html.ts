/**
 * HTML built from templates whose every value is escaped: the pages and the charts both build on
 * it, and the CLI's reports escape with it.
 */

/** A value as HTML text, safe in an element or a quoted attribute. */
export const escapeHtml = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Marks HTML built by these helpers, so it is not escaped twice. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** A template tag that escapes every interpolated value except Html (and arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  values.forEach((v, i) => {
    const rendered = Array.isArray(v) ? v.map((x) => (x instanceof Html ? x.text : escapeHtml(x))).join('') : v instanceof Html ? v.text : escapeHtml(v);
    out += rendered + strings[i + 1];
  });
  return new Html(out);
}
