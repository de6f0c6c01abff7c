/**
 * Nothing the CLI prints carries a credential: the `code=` of any URL (the Durable extension's
 * system key in status links, or a function key) and the key and token the CLI was given are
 * replaced wherever they appear, in text and in JSON alike.
 */
const CODE_PARAM = /([?&]code=)[^&#\s"'<>]+/gi;
export const REDACTED = '***';

export class Redactor {
  private readonly secrets: string[];

  constructor(secrets: (string | undefined)[]) {
    // Longest first, so a secret containing another is replaced whole.
    this.secrets = secrets.filter((s): s is string => !!s && s.length > 0).sort((a, b) => b.length - a.length);
  }

  text(value: string): string {
    let result = value.replace(CODE_PARAM, `$1${REDACTED}`);
    for (const secret of this.secrets) result = result.split(secret).join(REDACTED);
    // A key may also appear URL-encoded in a link.
    for (const secret of this.secrets) {
      const encoded = encodeURIComponent(secret);
      if (encoded !== secret) result = result.split(encoded).join(REDACTED);
    }
    return result;
  }

  /** A JSON value (as parsed from an answer) with every string in it redacted, keys included. */
  value(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((item) => this.value(item));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.text(k), this.value(v)]));
    return value;
  }
}
