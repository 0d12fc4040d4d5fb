// nodes.conf: Redis's cluster config file, the CLUSTER NODES lines of every node but those in
// handshake, then "vars currentEpoch N lastVoteEpoch M". Loading rebuilds a Topology (and throws an
// Error naming the file and line on anything it does not understand); saving is atomic and durable:
// temporary file, fsync, rename, fsync of the directory.

import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CLUSTER_SLOTS } from './api.js';
import { isNodeId } from './node-id.js';
import { FLAG_FAIL, FLAG_HANDSHAKE, FLAG_MYSELF, parseFlags, Topology } from './topology.js';

interface ParsedLine {
  id: string;
  ip: string;
  port: number;
  cport: number;
  hostname: string;
  flags: number;
  primaryId: string | null;
  pingSent: number;
  pongRecv: number;
  configEpoch: number;
  slots: Array<[number, number]>;
  migrating: Array<[number, string]>;
  importing: Array<[number, string]>;
}

function int(text: string, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(text)) throw new Error(`bad ${what} '${text}'`);
  const n = Number(text);
  if (n > max) throw new Error(`${what} ${text} is out of range`);
  return n;
}

function slotNumber(text: string): number {
  return int(text, 'slot', CLUSTER_SLOTS - 1);
}

function parseLine(fields: string[]): ParsedLine {
  if (fields.length < 8) throw new Error(`expected at least 8 fields, found ${fields.length}`);
  const [id, address, flagsText, primary, ping, pong, epoch] = fields as [string, string, string, string, string, string, string];
  if (!isNodeId(id)) throw new Error(`bad node id '${id}'`);
  const [coords, hostname = '', ...aux] = address.split(',');
  for (const a of aux) if (!a.includes('=')) throw new Error(`bad address field '${address}'`);
  const at = coords!.lastIndexOf('@');
  const colon = coords!.lastIndexOf(':', at < 0 ? undefined : at);
  if (at < 0 || colon < 0) throw new Error(`bad address '${address}'`);
  const flags = parseFlags(flagsText);
  if (flags === null) throw new Error(`bad flags '${flagsText}'`);
  if (primary !== '-' && !isNodeId(primary)) throw new Error(`bad primary id '${primary}'`);
  const line: ParsedLine = {
    id, ip: coords!.slice(0, colon), port: int(coords!.slice(colon + 1, at), 'port', 65535),
    cport: int(coords!.slice(at + 1), 'bus port', 65535), hostname, flags,
    primaryId: primary === '-' ? null : primary, pingSent: int(ping, 'ping time'), pongRecv: int(pong, 'pong time'),
    configEpoch: int(epoch, 'config epoch'), slots: [], migrating: [], importing: [],
  };
  if (fields[7] !== 'connected' && fields[7] !== 'disconnected') throw new Error(`bad link state '${fields[7]}'`);
  for (const f of fields.slice(8)) {
    let m: RegExpExecArray | null;
    if ((m = /^\[(\d+)->-([0-9a-f]{40})\]$/.exec(f))) line.migrating.push([slotNumber(m[1]!), m[2]!]);
    else if ((m = /^\[(\d+)-<-([0-9a-f]{40})\]$/.exec(f))) line.importing.push([slotNumber(m[1]!), m[2]!]);
    else if ((m = /^(\d+)-(\d+)$/.exec(f))) {
      const from = slotNumber(m[1]!);
      const to = slotNumber(m[2]!);
      if (from > to) throw new Error(`bad slot range '${f}'`);
      line.slots.push([from, to]);
    } else if (/^\d+$/.test(f)) {
      const s = slotNumber(f);
      line.slots.push([s, s]);
    } else throw new Error(`bad slot field '${f}'`);
  }
  return line;
}

/** Rebuilds a topology from nodes.conf text. Times saved as non-zero become `nowMs`, as in Redis. */
export function parseNodesConfig(text: string, file: string, nowMs: number): Topology {
  const lines: Array<{ no: number; line: ParsedLine }> = [];
  let currentEpoch = 0;
  let lastVoteEpoch = 0;
  text.split('\n').forEach((raw, i) => {
    const no = i + 1;
    const fields = raw.trim().split(/\s+/).filter((f) => f !== '');
    if (fields.length === 0) return;
    try {
      if (fields[0] === 'vars') {
        if (fields.length % 2 !== 1) throw new Error('vars needs name value pairs');
        for (let j = 1; j < fields.length; j += 2) {
          const v = int(fields[j + 1]!, fields[j]!);
          if (fields[j] === 'currentEpoch') currentEpoch = v;
          else if (fields[j] === 'lastVoteEpoch') lastVoteEpoch = v;
          else throw new Error(`unknown var '${fields[j]}'`);
        }
        return;
      }
      const line = parseLine(fields);
      if ((line.flags & FLAG_HANDSHAKE) !== 0) throw new Error('a node in handshake cannot be saved');
      if (lines.some((l) => l.line.id === line.id)) throw new Error(`node ${line.id} appears twice`);
      lines.push({ no, line });
    } catch (e) {
      throw new Error(`${file}:${no}: ${(e as Error).message}`);
    }
  });
  const mine = lines.filter((l) => (l.line.flags & FLAG_MYSELF) !== 0);
  if (mine.length !== 1) throw new Error(`${file}: expected exactly one node flagged myself, found ${mine.length}`);
  const me = mine[0]!.line;
  const topo = new Topology(me.id, nowMs);
  const owners = new Map<number, number>();
  for (const { no, line } of lines) {
    const n = line === me ? topo.myself : topo.createNode(line.id, line.flags, nowMs);
    if (n !== topo.myself) topo.addNode(n);
    n.flags = line.flags;
    topo.setAddress(n, line.ip, line.port, line.cport);
    n.hostname = line.hostname;
    n.primaryId = line.primaryId;
    n.configEpoch = line.configEpoch;
    n.pingSentMs = line.pingSent === 0 ? 0 : nowMs;
    n.pongRecvMs = line.pongRecv === 0 ? 0 : nowMs;
    if ((n.flags & FLAG_FAIL) !== 0) n.failTimeMs = nowMs;
    for (const [from, to] of line.slots) {
      for (let s = from; s <= to; s++) {
        if (owners.has(s)) throw new Error(`${file}:${no}: slot ${s} is already assigned on line ${owners.get(s)}`);
        owners.set(s, no);
        topo.assignSlot(s, n);
      }
    }
    if (line !== me && (line.migrating.length > 0 || line.importing.length > 0)) {
      throw new Error(`${file}:${no}: open slots on a line that is not myself`);
    }
  }
  for (const [slot, id] of me.migrating) topo.migrating.set(slot, id);
  for (const [slot, id] of me.importing) topo.importing.set(slot, id);
  for (const map of [topo.migrating, topo.importing]) {
    for (const [slot, id] of map) if (!topo.get(id)) throw new Error(`${file}: open slot ${slot} names unknown node ${id}`);
  }
  topo.currentEpoch = Math.max(currentEpoch, topo.maxEpoch());
  topo.lastVoteEpoch = lastVoteEpoch;
  return topo;
}

/** Writes `text` to `file` atomically and durably (temporary file, fsync, rename, fsync dir). */
export function writeFileAtomic(file: string, text: string): void {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.tmp-${process.pid}`);
  const fd = openSync(tmp, 'w', 0o644);
  try {
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, file);
  try {
    const dfd = openSync(dir, 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch {
    // Some filesystems do not allow fsync on a directory; the rename is still atomic.
  }
}
