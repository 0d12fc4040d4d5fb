// Connection commands (Redis networking.c and server.c): they touch no key and run on the main
// thread against the client's own state.

import type { ClientInfo, CommandSpec, MainCall } from './types.js';
import { argIs, argInt, argString, argLower } from './args.js';
import { ERR } from '../core/errors.js';
import { VERSION } from '../version.js';
import { inSubscribeMode } from './pubsub-family.js';

function pingCommand(m: MainCall): void {
  if (m.args.argc > 2) {
    m.out.error(ERR.wrongArity('ping'));
    return;
  }
  // A RESP2 subscriber cannot tell a reply from a message: Redis answers it with an array.
  if (m.conn.proto === 2 && inSubscribeMode(m.conn)) {
    m.out.array(2);
    m.out.bulkString('pong');
    if (m.args.argc === 2) m.out.bulk(m.args.buf, m.args.off[1]!, m.args.len[1]!);
    else m.out.bulkString('');
  } else if (m.args.argc === 2) m.out.bulk(m.args.buf, m.args.off[1]!, m.args.len[1]!);
  else m.out.simple('PONG');
}

/** AUTH [username] password, HELLO's AUTH: logs the client in as the user (the ACL checks the
 * password, throttles an address that keeps failing, and records failures in ACL LOG). */
function authenticate(m: MainCall, user: string | null, pass: string): boolean {
  const acl = m.server.acl;
  if (user === null && acl.defaultUser.nopass) {
    m.out.error(ERR.authNoPassword);
    return false;
  }
  const conn = m.conn;
  const u = acl.authenticate(user ?? 'default', pass, { addr: conn.addr, describe: () => clientLine(conn, Date.now()) });
  if (u === null) {
    m.out.error(ERR.wrongPass);
    return false;
  }
  // The user's maxclients (Tessera's own ACL rule): checked once the password is right.
  const full = m.server.loginRefusal(u, conn);
  if (full !== null) {
    m.out.error(full);
    return false;
  }
  conn.user = u;
  conn.authenticated = true;
  return true;
}

function authCommand(m: MainCall): void {
  const a = m.args;
  if (a.argc > 3) {
    m.out.error(ERR.syntax);
    return;
  }
  const user = a.argc === 3 ? argString(a, 1) : null;
  if (authenticate(m, user, argString(a, a.argc - 1))) m.out.ok();
}

function helloCommand(m: MainCall): void {
  const a = m.args;
  let proto: 2 | 3 = m.conn.proto;
  let i = 1;
  if (a.argc > 1) {
    const v = argInt(a, 1);
    if (Number.isNaN(v)) {
      m.out.error('ERR Protocol version is not an integer or out of range');
      return;
    }
    if (v !== 2 && v !== 3) {
      m.out.error(ERR.protoVersion);
      return;
    }
    proto = v;
    i = 2;
  }
  let name: string | null = null;
  for (; i < a.argc; i++) {
    if (argIs(a, i, 'AUTH') && i + 2 < a.argc) {
      if (!authenticate(m, argString(a, i + 1), argString(a, i + 2))) return;
      i += 2;
    } else if (argIs(a, i, 'SETNAME') && i + 1 < a.argc) {
      name = argString(a, ++i);
      if (!validName(name)) {
        m.out.error(ERR.clientNameSpaces);
        return;
      }
    } else {
      m.out.error(`ERR Syntax error in HELLO option '${argString(a, i)}'`);
      return;
    }
  }
  if (!m.conn.authenticated) {
    m.out.error('NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time');
    return;
  }
  if (name !== null) m.conn.name = name;
  m.conn.proto = proto;
  const out = m.out;
  out.proto = proto;
  out.map(7);
  out.bulkString('server');
  out.bulkString('redis');
  out.bulkString('version');
  out.bulkString(VERSION.redisCompat);
  out.bulkString('proto');
  out.integer(proto);
  out.bulkString('id');
  out.integer(m.conn.id);
  out.bulkString('mode');
  out.bulkString('standalone');
  out.bulkString('role');
  out.bulkString('master');
  out.bulkString('modules');
  out.array(0);
}

function selectCommand(m: MainCall): void {
  const db = argInt(m.args, 1);
  if (Number.isNaN(db)) m.out.error(ERR.notInteger);
  else if (m.server.cluster && db !== 0) m.out.error(ERR.selectNotAllowed);
  else if (db < 0 || db >= m.server.config.values.databases) m.out.error(ERR.dbIndexOutOfRange);
  else {
    // Every frame the connection sends from now on carries it (frames.ts REQ_DB).
    m.conn.db = db;
    m.out.ok();
  }
}

function validName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name.charCodeAt(i);
    if (ch < 33 || ch > 126) return false;
  }
  return true;
}

/** A replica's link to this node (it announced itself with REPLCONF): Redis's client type "replica". */
function isReplicaLink(c: ClientInfo): boolean {
  return c.replCapa.length > 0;
}

/** Redis's client type of c: normal, replica or pubsub (master links do not exist here). */
function clientType(c: ClientInfo): 'normal' | 'replica' | 'pubsub' {
  return isReplicaLink(c) ? 'replica' : inSubscribeMode(c) ? 'pubsub' : 'normal';
}

/** Redis's client type names (slave is replica's old name). */
function typeName(t: string): 'normal' | 'replica' | 'master' | 'pubsub' | null {
  const x = t.toLowerCase();
  if (x === 'slave') return 'replica';
  return x === 'normal' || x === 'replica' || x === 'master' || x === 'pubsub' ? x : null;
}

/** CLIENT LIST's flags, in Redis 7.0's order (N when none): O monitor, S replica, P pub/sub,
 * x MULTI, b blocked (a blocking command, or held by CLIENT PAUSE), r READONLY, e NO-EVICT. */
function clientFlags(c: ClientInfo, blocked: boolean): string {
  const f =
    (c.monitoring ? 'O' : isReplicaLink(c) ? 'S' : '') + (inSubscribeMode(c) ? 'P' : '') + (c.multi >= 0 ? 'x' : '') + (blocked ? 'b' : '') +
    (c.readonlyMode ? 'r' : '') + (c.noEvict ? 'e' : '');
  return f === '' ? 'N' : f;
}

/** One line of CLIENT LIST / CLIENT INFO: Redis 7.0.15's fields in its order. Buffers as Tessera
 * has them: qbuf = bytes read and not yet parsed, argv-mem = the running (or held) command's
 * argument bytes, obl = reply bytes not yet handed to the socket, omem = every byte of output
 * pending (reply buffer, socket queue, replies parked out of order), multi-mem = the queued
 * commands' bytes; qbuf-free and oll have no counterpart (0); events gains w while output is
 * pending. */
export function clientLine(c: ClientInfo, now: number, blocked = false, multiMem = 0): string {
  const qbuf = c.queryBufferBytes();
  const omem = c.outputBufferBytes();
  const argv = c.argvBytes();
  return (
    `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=${c.fd} name=${c.name} ` +
    `age=${Math.floor((now - c.createdAtMs) / 1000)} idle=${Math.floor((now - c.lastInteractionMs) / 1000)} ` +
    `flags=${clientFlags(c, blocked)} db=${c.db} sub=${c.subscriptions.channels.size} psub=${c.subscriptions.patterns.size} ssub=${c.subscriptions.shardChannels.size} multi=${c.multi} qbuf=${qbuf} qbuf-free=0 argv-mem=${argv} multi-mem=${multiMem} ` +
    `rbs=16384 rbp=0 obl=${c.replyBufferBytes()} oll=0 omem=${omem} tot-mem=${qbuf + argv + multiMem + omem} events=${omem > 0 ? 'rw' : 'r'} cmd=${c.lastCommand} ` +
    `user=${c.user.name} redir=-1 resp=${c.proto}`
  );
}

/** Blocked for CLIENT LIST: in a blocking command, or held by CLIENT PAUSE. */
function isBlocked(m: MainCall, c: ClientInfo): boolean {
  return m.server.blocked.isBlocked(c.id) || (m.server.clientPause.mode !== 0 && m.server.clientPause.isHeld(c.id));
}

const CLIENT_HELP = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port>',
  '    Kill connection made from <ip:port>.',
  'KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections. Options are: ID <client-id>, ADDR <ip:port>, LADDR <ip:port>, SKIPME (YES|NO), USER <username>.',
  'LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <client-id> [<client-id> ...]]',
  '    Return information about client connections.',
  'UNPAUSE',
  '    Stop the current client pause, resuming traffic.',
  'PAUSE <timeout> [WRITE|ALL]',
  '    Suspend all, or just write, clients for <timeout> milliseconds.',
  'SETINFO <option> <value>',
  '    Set client meta attr. Options are: LIB-NAME, LIB-VER.',
  'SETNAME <connection-name>',
  '    Assign the name <connection-name> to the current connection.',
  'NO-EVICT (ON|OFF)',
  '    Protect current client connection from eviction.',
  'HELP',
  '    Prints this help.',
];

function clientKill(m: MainCall): void {
  const a = m.args;
  const now = [...m.server.clients()];
  if (a.argc === 3) {
    const addr = argString(a, 2);
    const target = now.find((c) => c.addr === addr);
    if (!target) {
      m.out.error(ERR.clientNoSuchClient);
      return;
    }
    if (target === m.conn) target.closeAfterReply();
    else target.kill();
    m.out.ok();
    return;
  }
  if ((a.argc - 2) % 2 !== 0) {
    m.out.error(ERR.syntax);
    return;
  }
  let id: number | null = null;
  let addr: string | null = null;
  let laddr: string | null = null;
  let user: string | null = null;
  let skipme = true;
  let type: string | null = null;
  for (let i = 2; i < a.argc; i += 2) {
    const v = argString(a, i + 1);
    if (argIs(a, i, 'ID')) {
      id = argInt(a, i + 1);
      if (Number.isNaN(id) || id <= 0) {
        m.out.error('ERR client-id should be greater than 0');
        return;
      }
    } else if (argIs(a, i, 'ADDR')) addr = v;
    else if (argIs(a, i, 'LADDR')) laddr = v;
    else if (argIs(a, i, 'USER')) {
      if (m.server.acl.user(v) === undefined) {
        m.out.error(`ERR No such user '${v}'`);
        return;
      }
      user = v;
    }
    else if (argIs(a, i, 'SKIPME')) {
      if (v.toLowerCase() === 'yes') skipme = true;
      else if (v.toLowerCase() === 'no') skipme = false;
      else {
        m.out.error(ERR.syntax);
        return;
      }
    } else if (argIs(a, i, 'TYPE')) {
      type = typeName(v);
      if (type === null) {
        m.out.error(`ERR Unknown client type '${v}'`);
        return;
      }
    } else {
      m.out.error(ERR.syntax);
      return;
    }
  }
  let killed = 0;
  for (const c of now) {
    if (id !== null && c.id !== id) continue;
    if (addr !== null && c.addr !== addr) continue;
    if (type !== null && clientType(c) !== type) continue;
    if (laddr !== null && c.laddr !== laddr) continue;
    if (user !== null && c.user.name !== user) continue;
    if (c === m.conn && skipme) continue;
    if (c === m.conn) c.closeAfterReply();
    else c.kill();
    killed++;
  }
  m.out.integer(killed);
}

const LLONG_MAX = 2n ** 63n - 1n;

/** CLIENT PAUSE timeout [WRITE|ALL]: paused clients' commands wait (server/client-pause.ts). */
function clientPause(m: MainCall): void {
  const a = m.args;
  if (a.argc > 4) {
    m.out.error(ERR.subcommandSyntax(argString(a, 1), 'CLIENT'));
    return;
  }
  const raw = argString(a, 2);
  // A 64-bit integer as Redis reads it; past 2^53 the end time is only approximate (centuries away).
  const ms = /^-?\d{1,19}$/.test(raw) && BigInt(raw) <= LLONG_MAX && BigInt(raw) >= -LLONG_MAX - 1n ? Number(raw) : NaN;
  if (Number.isNaN(ms)) {
    m.out.error(ERR.pauseTimeoutNotInteger);
    return;
  }
  if (ms < 0) {
    m.out.error(ERR.pauseTimeoutNegative);
    return;
  }
  let mode: 1 | 2 = 2;
  if (a.argc === 4) {
    if (argIs(a, 3, 'WRITE')) mode = 1;
    else if (!argIs(a, 3, 'ALL')) {
      m.out.error(ERR.pauseMode);
      return;
    }
  }
  m.server.clientPause.pauseClients(mode, Date.now() + ms);
  m.out.ok();
}

/** MONITOR: from now on the client gets every command run (server/monitor.ts). A replica link
 * or a monitor already gets no reply, as in Redis. */
function monitorCommand(m: MainCall): void {
  const conn = m.conn;
  if (conn.monitoring || isReplicaLink(conn)) return;
  if (m.inExec === true) {
    m.out.error(ERR.monitorDenyBlocking);
    return;
  }
  m.server.monitors.add(conn);
  m.out.ok();
  // Lines fed from now on go after the +OK.
  conn.pushAfterCurrentReply();
}

function clientCommand(m: MainCall): void {
  const a = m.args;
  const sub = argLower(a, 1);
  const conn = m.conn;
  switch (sub) {
    case 'id':
      if (a.argc !== 2) break;
      m.out.integer(conn.id);
      return;
    case 'getname':
      if (a.argc !== 2) break;
      if (conn.name === '') m.out.nil();
      else m.out.bulkString(conn.name);
      return;
    case 'setname': {
      if (a.argc !== 3) break;
      const name = argString(a, 2);
      if (!validName(name)) {
        m.out.error(ERR.clientNameSpaces);
        return;
      }
      conn.name = name;
      m.out.ok();
      return;
    }
    case 'setinfo': {
      if (a.argc !== 4) break;
      const v = argString(a, 3);
      if (argIs(a, 2, 'LIB-NAME')) conn.libName = v;
      else if (argIs(a, 2, 'LIB-VER')) conn.libVer = v;
      else {
        m.out.error(`ERR Unrecognized option '${argString(a, 2)}'`);
        return;
      }
      m.out.ok();
      return;
    }
    case 'info':
      if (a.argc !== 2) break;
      m.out.verbatim(clientLine(conn, Date.now(), isBlocked(m, conn), m.server.transactions.queuedBytes(conn)) + '\n');
      return;
    case 'list': {
      let ids: Set<number> | null = null;
      let type: string | null = null;
      for (let i = 2; i < a.argc; i++) {
        if (argIs(a, i, 'TYPE') && i + 1 < a.argc) {
          const t = argString(a, ++i);
          type = typeName(t);
          if (type === null) {
            m.out.error(`ERR Unknown client type '${t}'`);
            return;
          }
        } else if (argIs(a, i, 'ID') && i + 1 < a.argc) {
          ids = new Set();
          for (i++; i < a.argc; i++) {
            // Any integer, as Redis 7.0 takes it (0 or a negative one matches no client).
            const id = argInt(a, i);
            if (Number.isNaN(id)) {
              m.out.error('ERR Invalid client ID');
              return;
            }
            ids.add(id);
          }
        } else {
          m.out.error(ERR.syntax);
          return;
        }
      }
      const now = Date.now();
      let s = '';
      for (const c of m.server.clients()) if ((!ids || ids.has(c.id)) && (type === null || clientType(c) === type)) s += clientLine(c, now, isBlocked(m, c), m.server.transactions.queuedBytes(c)) + '\n';
      m.out.verbatim(s);
      return;
    }
    case 'kill':
      if (a.argc < 3) break;
      clientKill(m);
      return;
    case 'unblock': {
      if (a.argc !== 3 && a.argc !== 4) break;
      const id = argInt(a, 2);
      if (!Number.isSafeInteger(id)) {
        m.out.error(ERR.notInteger);
        return;
      }
      let error = false;
      if (a.argc === 4) {
        if (argIs(a, 3, 'ERROR')) error = true;
        else if (!argIs(a, 3, 'TIMEOUT')) {
          m.out.error('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
          return;
        }
      }
      m.out.integer(m.server.blocked.unblock(id, error) ? 1 : 0);
      return;
    }
    case 'help':
      m.out.array(CLIENT_HELP.length);
      for (const l of CLIENT_HELP) m.out.simple(l);
      return;
    case 'no-evict':
      // Tessera has no client eviction (maxmemory-clients): the flag is kept and shown (e).
      if (a.argc === 3 && (argIs(a, 2, 'ON') || argIs(a, 2, 'OFF'))) {
        conn.noEvict = argIs(a, 2, 'ON');
        m.out.ok();
        return;
      }
      m.out.error(ERR.syntax);
      return;
    case 'no-touch':
      if (a.argc === 3 && (argIs(a, 2, 'ON') || argIs(a, 2, 'OFF'))) {
        m.out.ok();
        return;
      }
      m.out.error(ERR.syntax);
      return;
    case 'pause':
      clientPause(m);
      return;
    case 'unpause':
      if (a.argc !== 2) break;
      m.server.clientPause.unpauseClients();
      m.out.ok();
      return;
    default:
      m.out.error(ERR.unknownSubcommand(argString(a, 1), 'CLIENT'));
      return;
  }
  m.out.error(ERR.unknownSubcommand(argString(a, 1), 'CLIENT'));
}

const C = 'connection' as const;

export const CONNECTION_COMMANDS = [
  { name: 'ping', arity: -1, flags: ['fast'], keys: null, group: C, since: '1.0.0', summary: 'Returns the server\'s liveliness response.', main: pingCommand },
  { name: 'echo', arity: 2, flags: ['fast'], keys: null, group: C, since: '1.0.0', summary: 'Returns the given string.', main: (m) => m.out.bulk(m.args.buf, m.args.off[1]!, m.args.len[1]!) },
  { name: 'quit', arity: -1, flags: ['no-auth', 'fast', 'loading', 'stale'], keys: null, group: C, since: '1.0.0', summary: 'Closes the connection.', main: (m) => {
    m.out.ok();
    m.conn.closeAfterReply();
  } },
  { name: 'reset', arity: 1, flags: ['no-auth', 'fast'], keys: null, group: C, since: '6.2.0', summary: 'Resets the connection.', main: (m) => {
    m.server.transactions.reset(m.conn);
    m.server.pubsub.forget(m.conn);
    m.server.monitors.remove(m.conn);
    m.conn.reset();
    m.out.proto = 2;
    m.out.simple('RESET');
  } },
  { name: 'hello', arity: -1, flags: ['no-auth', 'fast', 'loading', 'stale'], keys: null, group: C, since: '6.0.0', summary: 'Handshakes with the Redis server.', main: helloCommand },
  { name: 'auth', arity: -2, flags: ['no-auth', 'fast', 'loading', 'stale'], keys: null, group: C, since: '1.0.0', summary: 'Authenticates the connection.', main: authCommand },
  { name: 'select', arity: 2, flags: ['fast', 'loading', 'stale'], keys: null, group: C, since: '1.0.0', summary: 'Changes the selected database.', main: selectCommand },
  { name: 'client', arity: -2, flags: ['admin', 'loading', 'stale'], keys: null, group: C, since: '2.4.0', summary: 'A container for client connection commands.', main: clientCommand,
    subcommands: [
      { name: 'id', arity: 2, flags: ['fast'], keys: null, summary: 'Returns the unique client ID of the connection.' },
      { name: 'getname', arity: 2, flags: ['fast'], keys: null, summary: 'Returns the name of the connection.' },
      { name: 'setname', arity: 3, flags: ['fast'], keys: null, summary: 'Sets the connection name.' },
      { name: 'setinfo', arity: 4, flags: ['fast'], keys: null, summary: 'Sets information specific to the client or connection.',
        decl: { flags: ['noscript', 'loading', 'stale'], acl: ['@slow', '@connection'], since: '7.2.0', complexity: 'O(1)' } }, // Redis 7.2's
      { name: 'info', arity: 2, flags: [], keys: null, summary: 'Returns information about the connection.' },
      { name: 'list', arity: -2, flags: ['admin'], keys: null, summary: 'Lists open connections.' },
      { name: 'kill', arity: -3, flags: ['admin'], keys: null, summary: 'Terminates open connections.' },
      { name: 'unblock', arity: -3, flags: ['admin'], keys: null, summary: 'Unblocks a client blocked by a blocking command from a different connection.' },
      { name: 'help', arity: 2, flags: [], keys: null, summary: 'Returns helpful text about the different subcommands.' },
      { name: 'pause', arity: -3, flags: ['admin', 'noscript', 'loading', 'stale'], keys: null, summary: 'Suspends commands processing.' },
      { name: 'unpause', arity: 2, flags: ['admin', 'noscript', 'loading', 'stale'], keys: null, summary: 'Resumes processing of clients that were paused.' },
      { name: 'no-evict', arity: 3, flags: ['admin', 'noscript', 'loading', 'stale'], keys: null, summary: 'Sets the client eviction mode of the connection.' },
      { name: 'no-touch', arity: 3, flags: [], keys: null, summary: 'Controls whether commands sent by the client affect the LRU/LFU of accessed keys.',
        decl: { flags: ['noscript', 'loading', 'stale'], acl: ['@slow', '@connection'], since: '7.2.0', complexity: 'O(1)' } }, // Redis 7.2's
    ] },
  { name: 'monitor', arity: 1, flags: ['admin', 'noscript', 'loading', 'stale'], keys: null, group: 'server', since: '1.0.0', summary: 'Listens for all requests received by the server in real-time.', main: monitorCommand },
] as const satisfies readonly CommandSpec[];
