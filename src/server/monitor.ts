// MONITOR: every command a client runs, as Redis 7.0 writes it to its monitors:
// `+<unix seconds>.<micros> [<db> <addr>] "arg" "arg"...` with each argument escaped as Redis's
// sdscatrepr, secrets redacted (observability/redact.ts), admin commands left out (monitorSkips).
// The line is built once per command into a module scratch and pushed to every monitor. When no
// monitor is attached the data path pays one test (`active`). Bounded: a monitor
// whose pending output would pass its limit (client-output-buffer-limit normal's hard bytes, or
// MONITOR_OUTPUT_MAX_BYTES when that is 0) is disconnected and counted in `dropped`.

import type { ArgList, ClientInfo } from '../core/types.js';
import type { CommandSpec } from '../commands/types.js';
import { redisDecl } from '../commands/command-meta.js';
import { redactArgs, skipsMonitor } from '../observability/redact.js';
import { PUSH_SHARE_MIN_BYTES } from '../protocol/pubsub-frames.js';

/** A monitor's output bound when client-output-buffer-limit normal sets none (Redis's default
 * 0 0 0 would let a monitor that never reads grow without end). */
export const MONITOR_OUTPUT_MAX_BYTES = 64 * 1024 * 1024;

/** What the monitors need of the node. */
export interface MonitorHost {
  /** client-output-buffer-limit normal's hard bytes (0 = none). */
  normalHardLimitBytes(): number;
  logDrop(c: ClientInfo, pendingBytes: number, limitBytes: number): void;
}

let scratch = Buffer.alloc(4096);
let used = 0;

function ensure(extra: number): void {
  if (used + extra <= scratch.length) return;
  const next = Buffer.alloc(Math.max(scratch.length * 2, used + extra));
  scratch.copy(next, 0, 0, used);
  scratch = next;
}

function ascii(s: string): void {
  ensure(s.length);
  used += scratch.write(s, used, 'latin1');
}

const HEX = '0123456789abcdef';

/** Appends `"bytes"` escaped as Redis's sdscatrepr (\\ \" \n \r \t \a \b, \xHH outside 32..126). */
function repr(buf: Uint8Array, off: number, len: number): void {
  // At most 4 bytes per input byte, plus the quotes and a space.
  ensure(len * 4 + 3);
  const s = scratch;
  let o = used;
  s[o++] = 0x20;
  s[o++] = 0x22;
  for (let i = off; i < off + len; i++) {
    const c = buf[i]!;
    if (c === 0x5c || c === 0x22) {
      s[o++] = 0x5c;
      s[o++] = c;
    } else if (c === 0x0a || c === 0x0d || c === 0x09 || c === 0x07 || c === 0x08) {
      s[o++] = 0x5c;
      s[o++] = c === 0x0a ? 0x6e : c === 0x0d ? 0x72 : c === 0x09 ? 0x74 : c === 0x07 ? 0x61 : 0x62;
    } else if (c >= 0x20 && c <= 0x7e) {
      s[o++] = c;
    } else {
      s[o++] = 0x5c;
      s[o++] = 0x78;
      s[o++] = HEX.charCodeAt(c >> 4);
      s[o++] = HEX.charCodeAt(c & 15);
    }
  }
  s[o++] = 0x22;
  used = o;
}

/** Unix time in microseconds, from the monotonic clock anchored at the process's start. */
function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

export class Monitors {
  /** At least one monitor is attached: the dispatcher's one test. */
  active = false;
  /** Monitors disconnected at their output bound. */
  dropped = 0;
  private readonly clients = new Set<ClientInfo>();

  /** By command index: left out (admin commands; a set of subcommands for containers). */
  private readonly skip: Array<boolean | ReadonlySet<string>>;

  constructor(
    private readonly host: MonitorHost,
    commands: readonly CommandSpec[],
  ) {
    this.skip = monitorSkips(commands);
  }

  /** Whether command `idx` with arguments `a` is fed at all. */
  shows(idx: number, a: ArgList): boolean {
    const skip = this.skip[idx];
    if (skip === undefined || skip === true) return false;
    if (skip === false || a.argc < 2) return true;
    return !skip.has(Buffer.from(a.buf.buffer, a.buf.byteOffset + a.off[1]!, a.len[1]!).toString('latin1').toLowerCase());
  }

  feedCommand(idx: number, db: number, addr: string, a: ArgList): void {
    if (this.active && this.shows(idx, a)) this.feed(db, addr, a);
  }

  get count(): number {
    return this.clients.size;
  }

  has(c: ClientInfo): boolean {
    return this.active && this.clients.has(c);
  }

  /** Attaches c (MONITOR); false when it already is one. */
  add(c: ClientInfo): boolean {
    if (this.clients.has(c)) return false;
    this.clients.add(c);
    c.monitoring = true;
    this.active = true;
    c.onClose(() => this.remove(c));
    return true;
  }

  /** Detaches c (RESET, close). */
  remove(c: ClientInfo): void {
    if (!this.clients.delete(c)) return;
    c.monitoring = false;
    this.active = this.clients.size > 0;
  }

  /** Feeds one command (a.argc arguments) run by a client at `addr` in database `db`. */
  feed(db: number, addr: string, a: ArgList): void {
    if (!this.active) return;
    used = 0;
    const us = nowMicros();
    ascii(`+${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')} [${db} ${addr}]`);
    const redacted = mayHoldSecrets(a) ? redactArgs(argViews(a)) : null;
    if (redacted === null) {
      for (let i = 0; i < a.argc; i++) repr(a.buf, a.off[i]!, a.len[i]!);
    } else {
      for (const x of redacted) {
        const b = typeof x === 'string' ? Buffer.from(x, 'latin1') : x;
        repr(b, 0, b.length);
      }
    }
    ascii('\r\n');
    // push() may keep a large frame by reference: that one gets its own copy.
    const frame = used >= PUSH_SHARE_MIN_BYTES ? Buffer.from(scratch.subarray(0, used)) : scratch.subarray(0, used);
    const hard = this.host.normalHardLimitBytes();
    const limit = hard > 0 ? hard : MONITOR_OUTPUT_MAX_BYTES;
    for (const c of this.clients) {
      const pending = c.outputBufferBytes();
      if (pending + frame.length > limit) {
        this.dropped++;
        this.host.logDrop(c, pending + frame.length, limit);
        this.remove(c);
        c.kill();
        continue;
      }
      c.push(frame);
    }
  }
}

/** Only AUTH, HELLO, MIGRATE, CONFIG and ACL carry secrets (redact.ts): the others skip building
 * argument views for it. */
function mayHoldSecrets(a: ArgList): boolean {
  if (a.argc < 2 || a.len[0]! < 3) return false;
  const c = a.buf[a.off[0]!]! | 0x20;
  return c === 0x61 || c === 0x68 || c === 0x6d || c === 0x63;
}

/** Views of the arguments (allocated only while a monitor is attached: redaction reads them). */
function argViews(a: ArgList): Buffer[] {
  const out: Buffer[] = new Array<Buffer>(a.argc);
  for (let i = 0; i < a.argc; i++) out[i] = Buffer.from(a.buf.buffer, a.buf.byteOffset + a.off[i]!, a.len[i]!);
  return out;
}

/** By command index, what MONITOR leaves out, as Redis 7.0 does: admin commands (by Redis's
 * declaration where it has one, else the table's flags); for a container, the set of its admin
 * subcommands (CLIENT ID is shown, CLIENT LIST is not). */
export function monitorSkips(commands: readonly CommandSpec[]): Array<boolean | ReadonlySet<string>> {
  const admin = (name: string, flags: readonly string[]): boolean => skipsMonitor(redisDecl(name)?.flags ?? flags, name);
  return commands.map((c) => {
    if (!c.subcommands) return admin(c.name, c.flags);
    const skip = new Set<string>();
    for (const sub of c.subcommands) if (admin(`${c.name}|${sub.name}`, sub.flags)) skip.add(sub.name);
    return skip;
  });
}
