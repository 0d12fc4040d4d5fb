// The credentials of an HTTP Authorization header: `Basic base64(user:password)` (RFC 7617),
// `Bearer user:password`, or `Bearer <password>` for the default user (Tessera's form before ACL
// users; a default password that holds ':' is given as `Bearer default:<password>` or Basic).
// Pure parsing: the ACL decides what they are worth.

export interface Credentials {
  readonly user: string;
  readonly pass: string;
}

/** The user and password of an Authorization header's value, or null when it has neither form. */
export function credentialsOf(header: string): Credentials | null {
  const sp = header.indexOf(' ');
  if (sp <= 0) return null;
  const scheme = header.slice(0, sp).toLowerCase();
  const rest = header.slice(sp + 1).trim();
  if (rest === '') return null;
  if (scheme === 'basic') {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(rest)) return null;
    // latin1: the password's bytes as RESP's AUTH passes them (Node gives header values so too).
    const text = Buffer.from(rest, 'base64').toString('latin1');
    const colon = text.indexOf(':');
    if (colon < 0) return null;
    return { user: text.slice(0, colon), pass: text.slice(colon + 1) };
  }
  if (scheme === 'bearer') {
    const colon = rest.indexOf(':');
    return colon < 0 ? { user: 'default', pass: rest } : { user: rest.slice(0, colon), pass: rest.slice(colon + 1) };
  }
  return null;
}
