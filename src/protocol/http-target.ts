// The request-target of an HTTP/1.1 request line (RFC 9112 section 3.2) split into its path and
// query, for the HTTP port's router. Never throws, whatever the bytes: a target it cannot read is
// null (the caller answers 400). WHATWG `new URL()` is not used because it throws on targets the
// HTTP parser accepts (`//[` once killed the process), and its normalisation (dot segments, a
// second leading slash taken as a host) would route a request other than the one on the wire.

export interface RequestTarget {
  /** The path exactly as sent (still percent-encoded), always starting with '/'. */
  readonly path: string;
  /** The query string after '?', '' when there is none (parse with URLSearchParams, which never throws). */
  readonly query: string;
}

/** scheme "://" authority, as in an absolute-form target (`GET http://host:8080/health`). */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/** Splits an origin-form (`/path?query`) or absolute-form (`http://host/path?query`) target.
 * Returns null for anything else (asterisk-form, authority-form, empty, no leading slash). A
 * fragment, which a client must not send, is dropped as the URL spec does. */
export function parseRequestTarget(raw: string): RequestTarget | null {
  let rest = raw;
  if (!rest.startsWith('/')) {
    const m = ABSOLUTE_FORM.exec(rest);
    if (m === null) return null;
    rest = rest.slice(m[0].length);
    if (rest === '' || rest.startsWith('?')) rest = `/${rest}`;
    if (!rest.startsWith('/')) return null;
  }
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  return q < 0 ? { path: rest, query: '' } : { path: rest.slice(0, q), query: rest.slice(q + 1) };
}
