// Runs Redis commands for the dashboard API as a client of this node would: the command table's
// arity, then the ACL check of the HTTP request's user (the same acl.check the RESP dispatcher
// makes; a denial is logged in ACL LOG and answered 403), then the command's own path: a
// main-thread handler runs here with an internal client standing for the HTTP request; a keyed
// shard command goes where its key lives (callForKey: a local shard, or the slot's node).
// A null user is the node itself (the open, figures-only routes): no ACL check, like /metrics.

import { COMMANDS, arityOk, commandIndex } from '../commands/registry.js';
import { argListOf } from '../commands/args.js';
import { ReplyError } from '../core/errors.js';
import type { AclApi, AclClientDescription, AclUser } from '../core/acl.js';
import type { ClientInfo, ServerApi } from '../commands/types.js';
import { RespWriter } from '../protocol/resp-writer.js';
import { decodeResp, type Resp } from '../protocol/resp-decode.js';

/** The user may not run the command: its Redis error text (NOPERM ...). */
export class CommandDenied extends Error {}

export interface CommandHost {
  readonly api: ServerApi;
  readonly acl: AclApi;
  callForKey(key: Uint8Array, args: ReadonlyArray<Uint8Array | string>): Promise<Buffer>;
}

export interface Caller {
  /** null: the node itself (no ACL check). */
  readonly user: AclUser | null;
  readonly client: AclClientDescription;
}

const NODE_CALLER_ADDR = '127.0.0.1:0';

/** A client standing for one HTTP request, for main-thread handlers (which read proto, db, tls). */
function internalClient(user: AclUser | null, addr: string, defaultUser: AclUser): ClientInfo {
  const now = Date.now();
  return {
    id: 0,
    name: 'dashboard',
    proto: 2,
    authenticated: true,
    user: user ?? defaultUser,
    addr,
    laddr: NODE_CALLER_ADDR,
    fd: -1,
    tls: false,
    createdAtMs: now,
    lastInteractionMs: now,
    lastCommand: '',
    libName: '',
    libVer: '',
    queryBufferBytes: () => 0,
    outputBufferBytes: () => 0,
    replyBufferBytes: () => 0,
    argvBytes: () => 0,
    noEvict: false,
    monitoring: false,
    closeAfterReply: () => undefined,
    kill: () => undefined,
    setBlocked: () => undefined,
    reset: () => undefined,
    asking: false,
    readonlyMode: false,
    replCapa: [],
    replListeningPort: 0,
    writeRaw: () => true,
    drained: () => Promise.resolve(),
    onClose: () => undefined,
    multi: -1,
    db: 0,
    multiFailed: false,
    subscriptions: { channels: new Set(), patterns: new Set(), shardChannels: new Set() },
    push: () => undefined,
    pushAfterCurrentReply: () => undefined,
  };
}

export class CommandRunner {
  constructor(private readonly host: CommandHost) {}

  /** The command's raw RESP2 reply (an error reply is a reply: `-ERR ...`). Throws
   * CommandDenied when the caller's user may not run it. */
  async raw(caller: Caller, args: ReadonlyArray<Buffer | string>): Promise<Buffer> {
    const name = String(args[0]).toLowerCase();
    const idx = commandIndex(name);
    const spec = idx >= 0 ? COMMANDS[idx] : undefined;
    if (spec === undefined || spec.hidden) return Buffer.from(`-ERR unknown command '${name}'\r\n`);
    if (!arityOk(spec.arity, args.length)) return Buffer.from(`-ERR wrong number of arguments for '${name}' command\r\n`);
    const user = caller.user;
    this.authorizeIdx(caller, idx, args);
    if (spec.main) {
      const out = new RespWriter(1024);
      out.proto = 2;
      try {
        await spec.main({ server: this.host.api, conn: internalClient(user, caller.client.addr, this.host.acl.defaultUser), args: argListOf(args), out });
      } catch (e) {
        out.reset();
        out.error(e instanceof ReplyError ? e.reply : `ERR ${(e as Error).message}`);
      }
      return Buffer.from(out.buf.subarray(0, out.length));
    }
    const first = spec.keys?.first ?? 0;
    const key = first > 0 ? args[first] : undefined;
    if (key === undefined) return Buffer.from(`-ERR ${name} has no key to route by\r\n`);
    return this.host.callForKey(typeof key === 'string' ? Buffer.from(key) : key, args);
  }

  /** Throws CommandDenied (logged in ACL LOG) when the caller's user may not run `args`; runs
   * nothing. */
  authorize(caller: Caller, args: ReadonlyArray<Buffer | string>): void {
    const idx = commandIndex(String(args[0]).toLowerCase());
    if (idx < 0) throw new Error(`dashboard: no command ${String(args[0])} in the table`);
    this.authorizeIdx(caller, idx, args);
  }

  private authorizeIdx(caller: Caller, idx: number, args: ReadonlyArray<Buffer | string>): void {
    const user = caller.user;
    if (user === null || user.unrestricted) return;
    const denial = this.host.acl.check(user, idx, argListOf(args));
    if (denial !== null) {
      this.host.acl.logDenial(caller.client, user, denial, 'toplevel');
      throw new CommandDenied(denial.error);
    }
  }

  /** The decoded reply (errors as RespError values). */
  async call(caller: Caller, args: ReadonlyArray<Buffer | string>): Promise<Resp> {
    return decodeResp(await this.raw(caller, args));
  }
}
