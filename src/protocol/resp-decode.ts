// Decodes one complete RESP2/RESP3 reply into plain values, for the callers that read a reply's
// content rather than relay it (the dashboard's JSON API). Bulk strings become Buffers, so that
// binary keys and values survive until the caller chooses their rendering; maps become arrays of
// alternating keys and values, as in RESP2. Errors are returned, not thrown: RespError.

export class RespError {
  constructor(readonly message: string) {}
}

export type Resp = Buffer | string | number | bigint | boolean | null | RespError | Resp[];

/** The reply that starts at `off` of `b`, which must hold all of it. Throws on a malformed one. */
export function decodeResp(b: Buffer, off = 0): Resp {
  const r = decodeAt(b, off);
  return r.value;
}

function lineEnd(b: Buffer, p: number): number {
  const e = b.indexOf(13, p);
  if (e < 0 || b[e + 1] !== 10) throw new Error('RESP: incomplete line');
  return e;
}

function decodeAt(b: Buffer, off: number): { value: Resp; end: number } {
  const type = b[off];
  const e = lineEnd(b, off + 1);
  const line = b.toString('latin1', off + 1, e);
  const next = e + 2;
  switch (type) {
    case 43: // +
      return { value: b.toString('utf8', off + 1, e), end: next };
    case 45: // -
      return { value: new RespError(b.toString('utf8', off + 1, e)), end: next };
    case 58: // :
      return { value: Number(line), end: next };
    case 44: // , double
      return { value: Number(line), end: next };
    case 40: // ( big number
      return { value: BigInt(line), end: next };
    case 35: // # boolean
      return { value: line === 't', end: next };
    case 95: // _ null
      return { value: null, end: next };
    case 36: // $
    case 61: // = verbatim
    case 33: { // ! bulk error
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      const body = b.subarray(next, next + n);
      if (body.length < n) throw new Error('RESP: incomplete bulk string');
      if (type === 33) return { value: new RespError(body.toString('utf8')), end: next + n + 2 };
      return { value: type === 61 ? body.subarray(4) : body, end: next + n + 2 };
    }
    case 42: // *
    case 126: // ~ set
    case 62: // > push
    case 37: { // % map
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      const items = type === 37 ? 2 * n : n;
      const out: Resp[] = [];
      let p = next;
      for (let i = 0; i < items; i++) {
        const r = decodeAt(b, p);
        out.push(r.value);
        p = r.end;
      }
      return { value: out, end: p };
    }
    default:
      throw new Error(`RESP: unknown type byte ${type ?? -1}`);
  }
}
