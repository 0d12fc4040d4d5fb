// memcached request generators: text (storage, retrieval, arithmetic, touch, with noreply), meta
// (mg/ms/md/ma/mn/me with random flags) and binary (every opcode, consistent or lying lengths),
// valid and damaged. Nothing that empties the store is generated (flush_all, FLUSH opcodes), so
// that the well-behaved client's keys beside the fuzzing survive.

import { mutate, type Prng } from './prng.js';

const TEXT_VERBS = ['set', 'add', 'replace', 'append', 'prepend', 'cas', 'get', 'gets', 'gat', 'gats', 'delete', 'incr', 'decr', 'touch', 'version', 'verbosity', 'stats', 'noop', 'quit'];
const META_VERBS = ['mg', 'ms', 'md', 'ma', 'mn', 'me'];
const META_FLAGS = ['b', 'c', 'f', 'h', 'k', 'l', 'O', 'q', 's', 't', 'v', 'u', 'E', 'N', 'R', 'T', 'M', 'I', 'S', 'D', 'J'];
/** Binary opcodes to send: all but FLUSH (0x08) and FLUSHQ (0x18). */
const BIN_OPS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x30, 0xff];

function num(r: Prng): string {
  return r.pick(['0', '1', '5', '-1', '100', '2592000', '2592001', '4294967295', '4294967296', '18446744073709551615', '18446744073709551616', 'x', '']);
}

function key(r: Prng): string {
  return r.chance(0.02) ? r.word(251) : `fz${r.word(1 + r.int(10))}`;
}

function textCommand(r: Prng): Buffer {
  const verb = r.pick(TEXT_VERBS);
  const noreply = r.chance(0.2) ? ' noreply' : '';
  switch (verb) {
    case 'set': case 'add': case 'replace': case 'append': case 'prepend': case 'cas': {
      const data = r.wordBytes(r.len(64));
      const len = r.chance(0.9) ? String(data.length) : num(r);
      const cas = verb === 'cas' ? ` ${num(r)}` : '';
      return Buffer.concat([Buffer.from(`${verb} ${key(r)} ${r.chance(0.9) ? r.int(65536) : num(r)} ${r.chance(0.9) ? r.int(100) : num(r)} ${len}${cas}${noreply}\r\n`), data, Buffer.from('\r\n')]);
    }
    case 'get': case 'gets':
      return Buffer.from(`${verb} ${Array.from({ length: 1 + r.int(5) }, () => key(r)).join(' ')}\r\n`);
    case 'gat': case 'gats':
      return Buffer.from(`${verb} ${num(r)} ${key(r)}\r\n`);
    case 'delete':
      return Buffer.from(`delete ${key(r)}${r.chance(0.1) ? ' 0' : ''}${noreply}\r\n`);
    case 'incr': case 'decr':
      return Buffer.from(`${verb} ${key(r)} ${num(r)}${noreply}\r\n`);
    case 'touch':
      return Buffer.from(`touch ${key(r)} ${num(r)}${noreply}\r\n`);
    case 'verbosity':
      return Buffer.from(`verbosity ${num(r)}${noreply}\r\n`);
    default:
      return Buffer.from(`${verb}\r\n`);
  }
}

function metaCommand(r: Prng): Buffer {
  const verb = r.pick(META_VERBS);
  const flags = Array.from({ length: r.int(5) }, () => r.pick(META_FLAGS) + (r.chance(0.5) ? num(r) : '')).join(' ');
  if (verb === 'mn') return Buffer.from('mn\r\n');
  if (verb === 'ms') {
    const data = r.wordBytes(r.len(64));
    return Buffer.concat([Buffer.from(`ms ${key(r)} ${r.chance(0.9) ? data.length : num(r)} ${flags}\r\n`), data, Buffer.from('\r\n')]);
  }
  return Buffer.from(`${verb} ${r.chance(0.1) ? Buffer.from(key(r)).toString('base64') : key(r)} ${flags}\r\n`);
}

function binaryRequest(r: Prng): Buffer {
  const op = r.pick(BIN_OPS);
  const k = Buffer.from(r.chance(0.9) ? key(r) : '');
  const extras = r.bytes(r.pick([0, 0, 4, 8, 20, r.int(32)]));
  const value = r.bytes(r.len(128));
  const body = Buffer.concat([extras, k, value]);
  const h = Buffer.alloc(24);
  h[0] = 0x80;
  h[1] = op;
  h.writeUInt16BE(r.chance(0.95) ? k.length : r.int(65536), 2);
  h[4] = r.chance(0.95) ? extras.length : r.int(256);
  const lie = r.int(40);
  h.writeUInt32BE(lie > 1 ? body.length : lie === 1 ? r.int(body.length + 64) : r.pick([0xffffffff, 0xfffffff0, 0x7fffffff, 0x10000000, 1024 * 1024 + 1]), 8);
  h.writeUInt32BE(r.int(2 ** 32), 12);
  return Buffer.concat([h, body]);
}

export type McFlavor = 'text' | 'meta' | 'binary';

/** A pipeline of one flavor, sometimes damaged. */
export function memcacheInput(r: Prng, flavor: McFlavor): Buffer {
  const n = 1 + r.len(12);
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) parts.push(flavor === 'binary' ? binaryRequest(r) : flavor === 'meta' ? metaCommand(r) : textCommand(r));
  const b = Buffer.concat(parts);
  return r.chance(0.4) ? mutate(r, b) : b;
}

/**
 * Keeps a binary stream from emptying the store: walking the headers as the server frames them,
 * FLUSH opcodes become NOOP. Body lengths are left as generated, up to 2^32-1 (issue 13: one such
 * header once made the server allocate 4 GiB and die). Stops at the first bad magic or at a body
 * that runs past the input (the server closes or waits there).
 */
export function tameBinary(b: Buffer): Buffer {
  const out = Buffer.from(b);
  let p = 0;
  while (p + 24 <= out.length && out[p] === 0x80) {
    if (out[p + 1] === 0x08 || out[p + 1] === 0x18) out[p + 1] = 0x0a;
    p += 24 + out.readUInt32BE(p + 8);
  }
  return out;
}

/** Keeps a text stream from emptying the store (a mutation can make any verb). */
export function tameText(b: Buffer): Buffer {
  return Buffer.from(b.toString('latin1').replace(/flush_all/gi, 'flush_none'), 'latin1');
}
