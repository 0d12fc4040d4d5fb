// The lowercase text of an EVALSHA's sha1 argument, from a small round-robin cache of the recent
// ones (per thread), so that the script lookups of a call make no string and hash no new one.
// Only 40-character hex texts are kept; the cache maps bytes to text, so it never goes stale.

const SHA_LEN = 40;
const SLOTS = 16;
const bytes = new Uint8Array(SLOTS * SHA_LEN);
const texts: string[] = new Array<string>(SLOTS).fill('');
let used = 0;
let next = 0;

/** buf[off, off + len) lowercased (as String#toLowerCase of its latin1 text). */
export function shaText(buf: Uint8Array, off: number, len: number): string {
  if (len !== SHA_LEN) return latin1Lower(buf, off, len);
  slots: for (let s = 0; s < used; s++) {
    const base = s * SHA_LEN;
    for (let i = 0; i < SHA_LEN; i++) {
      const c = buf[off + i]!;
      const k = bytes[base + i]!;
      // k is 0-9 or a-f: c matches it or its capital.
      if (c !== k && !(k >= 97 && c === k - 32)) continue slots;
    }
    return texts[s]!;
  }
  const text = latin1Lower(buf, off, len);
  if (!/^[0-9a-f]{40}$/.test(text)) return text;
  const s = next;
  next = (next + 1) % SLOTS;
  if (used < SLOTS) used++;
  for (let i = 0; i < SHA_LEN; i++) bytes[s * SHA_LEN + i] = text.charCodeAt(i);
  texts[s] = text;
  return text;
}

function latin1Lower(buf: Uint8Array, off: number, len: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + off, len).toString('latin1').toLowerCase();
}
