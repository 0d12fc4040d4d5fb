// What the HTTP key API needs of the shards beyond GET/SET/DEL: TESSERA.KEYJSON renders the value
// at a key as one JSON document, in the shard that owns it (one atomic read, encoded where the
// data is; the main thread only copies the bytes out). A RESP command rather than an internal one
// so that another cluster node can run it for its HTTP port. Shapes (docs/doors-types.md):
//   {"type":"hash","encoding":"listpack","length":2,"base64":false,"value":{"f1":"v1","f2":"v2"}}
//   {"type":"set","encoding":"intset","length":2,"base64":false,"value":["1","2"]}
//   {"type":"list","encoding":"listpack","length":2,"base64":false,"value":["a","b"]}
//   {"type":"string","length":1,"base64":false,"value":"v"}
//   {"type":"zset","encoding":"listpack","length":2,"base64":false,"value":[["a",1],["b",2.5]]}
// A score is a JSON number (the shortest text that reads back as the same double), or the string
// "inf" / "-inf", which JSON numbers cannot express.
// Every byte string (field, value, member) is a JSON string of its UTF-8 text; if any one of them
// is not well-formed UTF-8, or BASE64 is given, all of them are base64 and "base64" is true (one
// form per document: a client decodes with one rule).

import type { CommandSpec, ShardContext } from './types.js';
import { argIs } from './args.js';
import { ERR } from '../core/errors.js';
import { assert } from '../util/assert.js';
import { readKey } from './shard-helpers.js';
import { TYPE_HASH, TYPE_LIST, TYPE_NAMES, TYPE_SET, TYPE_STRING, TYPE_ZSET } from '../keyspace/keyspace.js';
import * as Z from '../keyspace/zset.js';
import * as C from '../keyspace/collection.js';
import * as L from '../keyspace/list.js';
import { base64Length, isUtf8Bytes, jsonTextLength, writeBase64, writeJsonText } from '../protocol/json-bytes.js';

/** Totals of the sizing pass over a value's byte strings. */
let count = 0;
let textBytes = 0;
let base64Bytes = 0;
let allUtf8 = true;

function measure(buf: Uint8Array, off: number, len: number): void {
  if (allUtf8 && !isUtf8Bytes(buf, off, len)) allUtf8 = false;
  if (allUtf8) textBytes += jsonTextLength(buf, off, len);
  base64Bytes += base64Length(len);
}

const measureHash: C.ElementVisitor = (buf, ko, kl, vo, vl) => {
  count++;
  measure(buf, ko, kl);
  measure(buf, vo, vl);
};
const measureMember: C.ElementVisitor = (buf, ko, kl) => {
  count++;
  measure(buf, ko, kl);
};
const measureListElement = (buf: Uint8Array, off: number, len: number): boolean => {
  measureMember(buf, off, len, 0, 0);
  return true;
};

/** A score's JSON text: a number, or a quoted "inf"/"-inf". */
function scoreJson(x: number): string {
  if (x === Infinity) return '"inf"';
  if (x === -Infinity) return '"-inf"';
  return Object.is(x, -0) ? '-0' : String(x);
}

/** Sizing pass over a sorted set: member bytes, score text and the pair's separators ([ , ]). */
let scoreBytes = 0;
const measureScored = (buf: Uint8Array, off: number, len: number, score: number): boolean => {
  count++;
  measure(buf, off, len);
  scoreBytes += scoreJson(score).length + 3;
  return true;
};

/** The output of the writing pass: where, how far, in which form, and the separator due next. */
let dst: Buffer = Buffer.alloc(0);
let at = 0;
let asBase64 = false;
let sep = 0;

function put(buf: Uint8Array, off: number, len: number): void {
  at = asBase64 ? writeBase64(dst, at, buf, off, len) : writeJsonText(dst, at, buf, off, len);
}

const writeHash: C.ElementVisitor = (buf, ko, kl, vo, vl) => {
  if (sep !== 0) dst[at++] = sep;
  sep = 44; // ,
  put(buf, ko, kl);
  dst[at++] = 58; // :
  put(buf, vo, vl);
};
const writeMember: C.ElementVisitor = (buf, ko, kl) => {
  if (sep !== 0) dst[at++] = sep;
  sep = 44;
  put(buf, ko, kl);
};
const writeListElement = (buf: Uint8Array, off: number, len: number): boolean => {
  writeMember(buf, off, len, 0, 0);
  return true;
};

const writeScored = (buf: Uint8Array, off: number, len: number, score: number): boolean => {
  if (sep !== 0) dst[at++] = sep;
  sep = 44;
  dst[at++] = 91; // [
  put(buf, off, len);
  dst[at++] = 44;
  at += dst.write(scoreJson(score), at, 'latin1');
  dst[at++] = 93; // ]
  return true;
};

/** TESSERA.KEYJSON key [BASE64]: the JSON rendering as a bulk string, or nil when no key. */
function keyJsonCommand(c: ShardContext): void {
  const a = c.args;
  if (a.argc > 3 || (a.argc === 3 && !argIs(a, 2, 'BASE64'))) return c.out.error(ERR.syntax);
  const ks = c.ks;
  const e = readKey(c, 1);
  if (e === 0) return c.out.nil();
  const type = ks.type(e);
  count = 0;
  textBytes = 0;
  base64Bytes = 0;
  scoreBytes = 0;
  allUtf8 = a.argc === 2;
  let head: string;
  let open = 0;
  let close = 0;
  if (type === TYPE_STRING) {
    measure(ks.bytes(), ks.valueOffset(e), ks.valueLength(e));
    head = `{"type":"string","length":${ks.valueLength(e)}`;
  } else if (type === TYPE_HASH || type === TYPE_SET) {
    C.elementForEach(ks, e, type === TYPE_HASH ? measureHash : measureMember);
    head = `{"type":"${TYPE_NAMES[type]!}","encoding":"${C.encodingName(ks, e)}","length":${count}`;
    open = type === TYPE_HASH ? 123 : 91; // { [
    close = type === TYPE_HASH ? 125 : 93;
  } else if (type === TYPE_LIST) {
    // Head to tail, as LRANGE 0 -1.
    L.listRange(ks, e, 0, L.listLength(ks, e) - 1, false, measureListElement);
    head = `{"type":"list","encoding":"${L.listEncodingName(ks, e)}","length":${count}`;
    open = 91;
    close = 93;
  } else if (type === TYPE_ZSET) {
    const n = Z.zsetCount(ks, e);
    if (n > 0) Z.zsetRange(ks, e, 0, n - 1, false, measureScored);
    head = `{"type":"zset","encoding":"${Z.zsetEncodingName(ks, e)}","length":${count}`;
    open = 91;
    close = 93;
  } else {
    // No other type can be rendered yet; one that is added must be rendered here.
    return c.out.error(ERR.wrongType);
  }
  asBase64 = !allUtf8;
  head += `,"base64":${asBase64},"value":`;
  // Separators: braces, commas between elements, a colon per hash pair.
  const seps = open === 0 ? 0 : 2 + Math.max(0, count - 1) + (type === TYPE_HASH ? count : 0) + scoreBytes;
  const total = head.length + (asBase64 ? base64Bytes : textBytes) + seps + 1;
  const out = c.out;
  out.ascii(`$${total}\r\n`);
  out.ensure(total + 2);
  const start = out.length;
  out.ascii(head);
  dst = out.buf;
  at = out.length;
  if (type === TYPE_STRING) put(ks.bytes(), ks.valueOffset(e), ks.valueLength(e));
  else {
    dst[at++] = open;
    sep = 0;
    if (type === TYPE_LIST) L.listRange(ks, e, 0, L.listLength(ks, e) - 1, false, writeListElement);
    else if (type === TYPE_ZSET) {
      const n = Z.zsetCount(ks, e);
      if (n > 0) Z.zsetRange(ks, e, 0, n - 1, false, writeScored);
    } else C.elementForEach(ks, e, type === TYPE_HASH ? writeHash : writeMember);
    dst[at++] = close;
  }
  dst[at++] = 125; // }
  // The length went out first: a rendering of another size would break the reply stream.
  assert(at - start === total, () => `TESSERA.KEYJSON wrote ${at - start} bytes, announced ${total}`);
  out.length = at;
  dst = EMPTY; // the writer's buffer is not kept past the command
  out.ascii('\r\n');
}

const EMPTY = Buffer.alloc(0);

export const HTTP_COMMANDS = [
  {
    name: 'tessera.keyjson', arity: -2, flags: ['readonly'], keys: { first: 1, last: 1, step: 1 }, group: 'generic', since: '0.1.0',
    summary: '(Tessera) Renders the value at a key as JSON (the HTTP key API reads collections with it).', shard: keyJsonCommand,
  },
] as const satisfies readonly CommandSpec[];
