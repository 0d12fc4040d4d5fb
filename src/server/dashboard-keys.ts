// The key browser's routes: GET /v1/scan (one SCAN step per request, so paging never holds the
// server for more than one step) and GET /v1/key (type, TTL, encoding, memory and a bounded
// preview). Every Redis command runs as the request's user (dashboard-commands.ts), so the ACL
// decides as it would over RESP. MEMORY USAGE and OBJECT ENCODING answer null where the node
// has no such command or it fails. Bounds: SCAN_COUNT_MAX keys per page, PREVIEW_ITEMS elements,
// PREVIEW_BYTES bytes of each string shown.

import { RespError, type Resp } from '../protocol/resp-decode.js';
import type { Caller, CommandRunner } from './dashboard-commands.js';

export const SCAN_COUNT_MAX = 1000;
export const PREVIEW_ITEMS = 20;
export const PREVIEW_BYTES = 256;

export interface KeyMeta {
  key: string;
  type: string;
  /** Milliseconds left (PTTL); -1: no expiry; -2: the key went away meanwhile. */
  ttl: number;
  encoding: string | null;
  memory: number | null;
}

/** A reply that must not be an error: thrown as a KeyRouteError (the caller answers 4xx/5xx). */
export class KeyRouteError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function ok(r: Resp): Resp {
  if (r instanceof RespError) {
    const status = /^(MOVED|ASK) /.test(r.message) ? 421 : /^(ERR syntax|ERR invalid cursor|ERR value is not)/.test(r.message) ? 400 : 500;
    throw new KeyRouteError(status, r.message);
  }
  return r;
}

function text(r: Resp): string {
  if (Buffer.isBuffer(r)) return r.toString('utf8');
  if (typeof r === 'string') return r;
  return String(r);
}

/** At most PREVIEW_BYTES of a value, as text. */
function clip(r: Resp): string {
  if (Buffer.isBuffer(r)) return r.subarray(0, PREVIEW_BYTES).toString('utf8');
  return text(r).slice(0, PREVIEW_BYTES);
}

function list(r: Resp): Resp[] {
  return Array.isArray(ok(r)) ? (r as Resp[]) : [];
}

function numberOrNull(r: Resp): number | null {
  return typeof r === 'number' ? r : null;
}

export class KeyBrowser {
  constructor(private readonly run: CommandRunner) {}

  async meta(caller: Caller, key: Buffer): Promise<KeyMeta> {
    const [type, ttl, encoding, memory] = await Promise.all([
      this.run.call(caller, ['TYPE', key]),
      this.run.call(caller, ['PTTL', key]),
      this.run.call(caller, ['OBJECT', 'ENCODING', key]),
      this.run.call(caller, ['MEMORY', 'USAGE', key]),
    ]);
    return {
      key: key.toString('utf8'),
      type: text(ok(type)),
      ttl: numberOrNull(ok(ttl)) ?? -2,
      encoding: encoding instanceof RespError || encoding === null ? null : text(encoding),
      memory: memory instanceof RespError ? null : numberOrNull(memory),
    };
  }

  /** One SCAN step: the next cursor and the keys of this page with their metadata. */
  async scan(caller: Caller, cursor: string, match: string, type: string, count: number): Promise<{ cursor: string; keys: KeyMeta[] }> {
    const args = ['SCAN', cursor, 'MATCH', match, 'COUNT', String(count)];
    if (type !== '') args.push('TYPE', type);
    const r = list(await this.run.call(caller, args));
    const next = text(r[0] ?? '0');
    const names = Array.isArray(r[1]) ? r[1].filter((k): k is Buffer => Buffer.isBuffer(k)).slice(0, SCAN_COUNT_MAX) : [];
    const keys = await Promise.all(names.map((k) => this.meta(caller, k)));
    // A key deleted between SCAN and TYPE is left out.
    return { cursor: next, keys: keys.filter((k) => k.type !== 'none') };
  }

  /** The key's metadata and a preview of its value; null when there is no such key. */
  async key(caller: Caller, key: Buffer): Promise<(KeyMeta & { preview: unknown }) | null> {
    const m = await this.meta(caller, key);
    if (m.type === 'none') return null;
    return { ...m, preview: await this.preview(caller, key, m.type) };
  }

  private async preview(caller: Caller, key: Buffer, type: string): Promise<unknown> {
    const call = (args: Array<string | Buffer>): Promise<Resp> => this.run.call(caller, args).then(ok);
    const last = String(PREVIEW_ITEMS - 1);
    switch (type) {
      case 'string': {
        const [value, length] = await Promise.all([call(['GETRANGE', key, '0', String(PREVIEW_BYTES - 1)]), call(['STRLEN', key])]);
        const n = numberOrNull(length) ?? 0;
        return { length: n, value: clip(value), truncated: n > PREVIEW_BYTES };
      }
      case 'list': {
        const [items, length] = await Promise.all([call(['LRANGE', key, '0', last]), call(['LLEN', key])]);
        return { length: numberOrNull(length) ?? 0, items: (items as Resp[]).map(clip) };
      }
      case 'set': {
        const [page, length] = await Promise.all([call(['SSCAN', key, '0', 'COUNT', String(PREVIEW_ITEMS)]), call(['SCARD', key])]);
        const members = Array.isArray(page) && Array.isArray(page[1]) ? page[1].slice(0, PREVIEW_ITEMS).map(clip) : [];
        return { length: numberOrNull(length) ?? 0, members };
      }
      case 'hash': {
        const [page, length] = await Promise.all([call(['HSCAN', key, '0', 'COUNT', String(PREVIEW_ITEMS)]), call(['HLEN', key])]);
        const flat = Array.isArray(page) && Array.isArray(page[1]) ? page[1] : [];
        const fields: Array<[string, string]> = [];
        for (let i = 0; i + 1 < flat.length && fields.length < PREVIEW_ITEMS; i += 2) fields.push([clip(flat[i]!), clip(flat[i + 1]!)]);
        return { length: numberOrNull(length) ?? 0, fields };
      }
      case 'zset': {
        const [flat, length] = await Promise.all([call(['ZRANGE', key, '0', last, 'WITHSCORES']), call(['ZCARD', key])]);
        const members: Array<[string, number]> = [];
        const f = flat as Resp[];
        for (let i = 0; i + 1 < f.length; i += 2) members.push([clip(f[i]!), Number(text(f[i + 1]!))]);
        return { length: numberOrNull(length) ?? 0, members };
      }
      case 'stream': {
        const [entries, length] = await Promise.all([call(['XRANGE', key, '-', '+', 'COUNT', String(PREVIEW_ITEMS)]), call(['XLEN', key])]);
        return {
          length: numberOrNull(length) ?? 0,
          entries: (entries as Resp[]).map((e) => {
            const pair = Array.isArray(e) ? e : [];
            const fv = Array.isArray(pair[1]) ? pair[1] : [];
            const fields: Array<[string, string]> = [];
            for (let i = 0; i + 1 < fv.length; i += 2) fields.push([clip(fv[i]!), clip(fv[i + 1]!)]);
            return { id: text(pair[0] ?? ''), fields };
          }),
        };
      }
      default:
        return null;
    }
  }
}
