// The extent of one RESP2/RESP3 value in a byte buffer, without decoding it. Shared by the
// server (splitting shard replies to merge them) and the load generator (counting replies).

/** End of the complete RESP2/RESP3 value at off, or -1 when it is not all there yet. */
export function valueEnd(b: Uint8Array, off: number): number {
  if (off >= b.length) return -1;
  let p = off + 1;
  while (p < b.length && b[p] !== 13) p++;
  if (p + 1 >= b.length) return -1;
  const lineEnd = p + 2;
  const type = b[off];
  // $ bulk, ! bulk error, = verbatim, * array, ~ set, > push, % map, | attribute.
  if (type === 36 || type === 33 || type === 61 || type === 42 || type === 126 || type === 62 || type === 37 || type === 124) {
    let n = 0;
    let neg = false;
    for (let i = off + 1; i < p; i++) {
      if (b[i] === 45) neg = true;
      else n = n * 10 + (b[i]! - 48);
    }
    if (neg) return lineEnd;
    if (type === 36 || type === 33 || type === 61) return lineEnd + n + 2 <= b.length ? lineEnd + n + 2 : -1;
    let q = lineEnd;
    const items = type === 37 || type === 124 ? 2 * n : n;
    for (let i = 0; i < items; i++) {
      q = valueEnd(b, q);
      if (q < 0) return -1;
    }
    // An attribute is followed by the value it annotates.
    return type === 124 ? valueEnd(b, q) : q;
  }
  return lineEnd;
}
