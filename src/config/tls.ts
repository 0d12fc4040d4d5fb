// TLS for every door and every outgoing link, built from the tls-* options (Redis's names).
// One TlsContexts per process: the RESP tls-port, the memcached and HTTP ports (memcache-tls,
// http-tls) share its server context; replication and cluster links dial with client(). A reload
// builds and checks everything first and swaps only on success, so a bad file never leaves a
// listener without a working context; connections already open keep the context they had.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { constants as cryptoConstants } from 'node:crypto';
import tls from 'node:tls';
import type net from 'node:net';
import { InvalidValue } from './params.js';
import type { ServerConfig } from './server-config.js';

/** The options a context is built from. */
export type TlsValues = Pick<ServerConfig,
  'tlsCertFile' | 'tlsKeyFile' | 'tlsKeyFilePass' | 'tlsClientCertFile' | 'tlsClientKeyFile' | 'tlsClientKeyFilePass'
  | 'tlsCaCertFile' | 'tlsCaCertDir' | 'tlsDhParamsFile' | 'tlsAuthClients' | 'tlsProtocols' | 'tlsCiphers'
  | 'tlsCiphersuites' | 'tlsPreferServerCiphers' | 'tlsSessionCaching' | 'tlsSessionCacheSize' | 'tlsSessionCacheTimeout'
  | 'tlsReplication' | 'tlsCluster'>;

/** CONFIG names whose change rebuilds the contexts (Redis applies its TLS configuration on each). */
export const TLS_RELOAD_OPTIONS: ReadonlySet<string> = new Set([
  'tls-cert-file', 'tls-key-file', 'tls-key-file-pass', 'tls-client-cert-file', 'tls-client-key-file',
  'tls-client-key-file-pass', 'tls-ca-cert-file', 'tls-ca-cert-dir', 'tls-dh-params-file', 'tls-auth-clients',
  'tls-protocols', 'tls-ciphers', 'tls-ciphersuites', 'tls-prefer-server-ciphers', 'tls-session-caching',
  'tls-session-cache-size', 'tls-session-cache-timeout', 'tls-replication', 'tls-cluster',
]);

/** Redis's reply when a CONFIG SET of a TLS option cannot be applied (the reason goes to the log). */
export const TLS_UPDATE_FAILED = 'Unable to update TLS configuration. Check server logs.';

/** True when some door or link uses TLS: only then are the tls-* files read and checked (Redis). */
export function tlsInUse(v: Pick<ServerConfig, 'tlsPort' | 'memcacheTls' | 'httpTls' | 'tlsReplication' | 'tlsCluster'>): boolean {
  return v.tlsPort > 0 || v.memcacheTls || v.httpTls || v.tlsReplication || v.tlsCluster;
}

/** Everything one configuration yields, checked: swapped in whole by install(). */
export interface TlsMaterial {
  readonly serverOptions: tls.SecureContextOptions;
  readonly clientOptions: tls.ConnectionOptions;
  readonly authClients: 'no' | 'yes' | 'optional';
  readonly sessionCaching: boolean;
  /** Most sessions kept for resumption by id. */
  readonly sessionCacheMax: number;
  readonly sessionTimeoutMs: number;
}

const PROTOCOLS = ['tlsv1', 'tlsv1.1', 'tlsv1.2', 'tlsv1.3'] as const;
const NODE_PROTOCOL: Record<(typeof PROTOCOLS)[number], tls.SecureVersion> = {
  'tlsv1': 'TLSv1', 'tlsv1.1': 'TLSv1.1', 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3',
};
/** tls-session-cache-size 0 is OpenSSL's "no limit"; a bound of our own keeps the cache finite. */
export const SESSION_CACHE_CAP = 1 << 20;
/** Most CA files read from tls-ca-cert-dir. */
const CA_DIR_MAX_FILES = 4096;
/** A TLS handshake must finish within this, or the socket is closed. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Most sockets in their handshake at once per listener; more are closed at accept. */
export const HANDSHAKES_MAX = 1024;

function readFile(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InvalidValue(`Failed to load ${what}: ${path}: ${(e as Error).message}`);
  }
}

/** PEM CA certificates of a directory (every regular file holding one), as OpenSSL's CApath. */
function readCaDir(dir: string): Buffer[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    throw new InvalidValue(`Failed to configure CA certificate(s) directory: ${dir}: ${(e as Error).message}`);
  }
  const out: Buffer[] = [];
  for (const name of names.slice(0, CA_DIR_MAX_FILES)) {
    const path = join(dir, name);
    try {
      if (!statSync(path).isFile()) continue;
      const pem = readFileSync(path);
      if (pem.includes('-----BEGIN CERTIFICATE-----')) out.push(pem);
    } catch {
      // A file that vanished or is unreadable is skipped, as OpenSSL's lookup skips it.
    }
  }
  return out;
}

/** tls-protocols words to Node's version range; Redis's error text on an unknown word. */
function protocolRange(raw: string): { minVersion: tls.SecureVersion; maxVersion: tls.SecureVersion } {
  const words = raw.toLowerCase().split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) return { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' };
  const idx = words.map((w) => PROTOCOLS.indexOf(w as (typeof PROTOCOLS)[number]));
  if (idx.some((i) => i < 0)) {
    throw new InvalidValue("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.");
  }
  return { minVersion: NODE_PROTOCOL[PROTOCOLS[Math.min(...idx)]!], maxVersion: NODE_PROTOCOL[PROTOCOLS[Math.max(...idx)]!] };
}

/** Node takes TLSv1.3 suites (TLS_*) and TLSv1.2 ciphers in one list: each part not given keeps Node's default. */
function cipherList(ciphers: string, suites: string): string {
  const defaults = tls.DEFAULT_CIPHERS.split(':');
  const v13 = suites !== '' ? suites : defaults.filter((c) => c.startsWith('TLS_')).join(':');
  const v12 = ciphers !== '' ? ciphers : defaults.filter((c) => !c.startsWith('TLS_')).join(':');
  return [v13, v12].filter((s) => s !== '').join(':');
}

/** Builds and checks a configuration; throws InvalidValue with the reason (OpenSSL's text where it has one). */
export function buildTlsMaterial(v: TlsValues): TlsMaterial {
  if (v.tlsCertFile === '') throw new InvalidValue('No tls-cert-file configured!');
  if (v.tlsKeyFile === '') throw new InvalidValue('No tls-key-file configured!');
  const needsCa = v.tlsAuthClients !== 'no' || v.tlsReplication || v.tlsCluster;
  if (needsCa && v.tlsCaCertFile === '' && v.tlsCaCertDir === '') {
    throw new InvalidValue('Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!');
  }
  const ca: Buffer[] = [];
  if (v.tlsCaCertFile !== '') ca.push(readFile('CA certificate(s) file', v.tlsCaCertFile));
  if (v.tlsCaCertDir !== '') ca.push(...readCaDir(v.tlsCaCertDir));
  const cert = readFile('certificate', v.tlsCertFile);
  const key = readFile('private key', v.tlsKeyFile);
  const clientCert = v.tlsClientCertFile !== '' ? readFile('certificate', v.tlsClientCertFile) : cert;
  const clientKey = v.tlsClientCertFile !== '' ? readFile('private key', v.tlsClientKeyFile) : key;
  const clientPass = v.tlsClientCertFile !== '' ? v.tlsClientKeyFilePass : v.tlsKeyFilePass;
  const range = protocolRange(v.tlsProtocols);
  const common: tls.SecureContextOptions = {
    ...range,
    ca: ca.length > 0 ? ca : undefined,
    ciphers: cipherList(v.tlsCiphers, v.tlsCiphersuites),
  };
  const serverOptions: tls.SecureContextOptions = {
    ...common,
    cert,
    key,
    passphrase: v.tlsKeyFilePass !== '' ? v.tlsKeyFilePass : undefined,
    honorCipherOrder: v.tlsPreferServerCiphers,
    dhparam: v.tlsDhParamsFile !== '' ? readFile('DH params', v.tlsDhParamsFile) : undefined,
    sessionTimeout: v.tlsSessionCacheTimeout,
    // No session tickets either when caching is off (Redis sets SSL_OP_NO_TICKET).
    secureOptions: v.tlsSessionCaching ? 0 : cryptoConstants.SSL_OP_NO_TICKET,
    sessionIdContext: 'tessera',
  };
  const clientOptions: tls.ConnectionOptions = {
    ...common,
    cert: clientCert,
    key: clientKey,
    passphrase: clientPass !== '' ? clientPass : undefined,
    // Redis checks the peer's chain against the CA, not its name: nodes are dialled by address.
    rejectUnauthorized: true,
    checkServerIdentity: () => undefined,
  };
  try {
    tls.createSecureContext(serverOptions);
    tls.createSecureContext(clientOptions);
  } catch (e) {
    throw new InvalidValue(`Failed to configure TLS: ${(e as Error).message}`);
  }
  return {
    serverOptions,
    clientOptions,
    authClients: v.tlsAuthClients,
    sessionCaching: v.tlsSessionCaching,
    sessionCacheMax: v.tlsSessionCacheSize === 0 ? SESSION_CACHE_CAP : Math.min(v.tlsSessionCacheSize, SESSION_CACHE_CAP),
    sessionTimeoutMs: v.tlsSessionCacheTimeout * 1000,
  };
}

/** Sessions resumable by id (TLSv1.2), bounded by count and age; the oldest goes first. */
class SessionCache {
  readonly #entries = new Map<string, { data: Buffer; atMs: number }>();

  put(id: Buffer, data: Buffer, m: TlsMaterial): void {
    if (!m.sessionCaching) return;
    const k = id.toString('hex');
    this.#entries.delete(k);
    this.#entries.set(k, { data, atMs: Date.now() });
    while (this.#entries.size > m.sessionCacheMax) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  get(id: Buffer, m: TlsMaterial): Buffer | null {
    if (!m.sessionCaching) return null;
    const k = id.toString('hex');
    const e = this.#entries.get(k);
    if (e === undefined) return null;
    if (Date.now() - e.atMs > m.sessionTimeoutMs) {
      this.#entries.delete(k);
      return null;
    }
    return e.data;
  }

  clear(): void {
    this.#entries.clear();
  }
}

/** What a TLS listener reports: handshake failures (logged at debug by the caller). */
export type HandshakeFailure = (err: Error, remote: string | undefined) => void;

/** tls.Server's per-connection settings: public properties Node reads for each accepted socket. */
type ClientAuthServer = tls.Server & { requestCert: boolean; rejectUnauthorized: boolean };

export class TlsContexts {
  #material: TlsMaterial;
  readonly #servers = new Set<ClientAuthServer>();
  readonly #sessions = new SessionCache();

  /** From options (throws InvalidValue when they cannot be used) or from checked material. */
  constructor(source: TlsValues | TlsMaterial) {
    this.#material = 'serverOptions' in source ? source : buildTlsMaterial(source);
  }

  /** Options for tls.createServer / a server-side TLSSocket: the current context and client-auth setting. */
  server(): tls.TlsOptions {
    const m = this.#material;
    return { ...m.serverOptions, ...clientAuth(m.authClients), handshakeTimeout: HANDSHAKE_TIMEOUT_MS };
  }

  /** Options for an outgoing link (replica -> primary, bus, forwarding, migration): add host and port. */
  client(): tls.ConnectionOptions {
    return { ...this.#material.clientOptions };
  }

  /** Rebuilds from `values`; throws InvalidValue (and keeps the old contexts) when they cannot be used. */
  reload(values: TlsValues): void {
    this.install(buildTlsMaterial(values));
  }

  /** Swaps in checked material: new connections on every listener use it. */
  install(m: TlsMaterial): void {
    const sessionsVoid = m.sessionCaching !== this.#material.sessionCaching || m.serverOptions.cert !== this.#material.serverOptions.cert;
    this.#material = m;
    if (sessionsVoid) this.#sessions.clear();
    for (const srv of this.#servers) this.#configure(srv);
  }

  /**
   * A TLS listener handing each socket to `onSecure` once its handshake is done and its client
   * certificate passes tls-auth-clients. Half-open sockets are allowed (as on the plain ports).
   * A failed handshake closes only its socket and is reported to `onFailure`.
   */
  createServer(onSecure: (sock: tls.TLSSocket) => void, onFailure: HandshakeFailure): tls.Server {
    const srv = tls.createServer({ ...this.server(), allowHalfOpen: true, noDelay: true });
    srv.on('secureConnection', (sock: tls.TLSSocket) => {
      if (!sock.destroyed) onSecure(sock);
    });
    return this.adopt(srv, onFailure);
  }

  /**
   * Keeps `srv` (a tls.Server or https.Server, its secure-connection handler already installed)
   * on the current context from now on: reloads, tls-auth-clients, the session cache, a bound on
   * sockets in their handshake. A socket whose optional certificate fails is destroyed here.
   */
  adopt<S extends tls.Server>(server: S, onFailure: HandshakeFailure): S {
    const srv = server as S & ClientAuthServer;
    this.#servers.add(srv);
    srv.once('close', () => this.#servers.delete(srv));
    // Sockets still in their handshake (bounded): they cost a handshake but are not clients yet.
    const handshaking = new Set<net.Socket>();
    const settled = (sock: tls.TLSSocket): void => {
      // Node keeps the accepted TCP socket as the TLS socket's _parent (undocumented, stable since
      // Node 0.11); without it the entry leaves the set when the connection closes.
      const raw = (sock as tls.TLSSocket & { _parent?: net.Socket })._parent;
      if (raw !== undefined) handshaking.delete(raw);
    };
    srv.on('connection', (raw: net.Socket) => {
      if (handshaking.size >= HANDSHAKES_MAX) {
        raw.destroy();
        return;
      }
      handshaking.add(raw);
      raw.once('close', () => handshaking.delete(raw));
    });
    // Before the owner's handler: a socket refused here is never handed over.
    srv.prependListener('secureConnection', (sock: tls.TLSSocket) => {
      settled(sock);
      // optional: a certificate that is given must be valid (Redis's SSL_VERIFY_PEER without FAIL_IF_NO_PEER_CERT).
      if (this.#material.authClients === 'optional' && !sock.authorized && hasPeerCertificate(sock)) {
        onFailure(new Error(String(sock.authorizationError)), sock.remoteAddress);
        sock.destroy();
      }
    });
    srv.on('tlsClientError', (err: Error, sock: tls.TLSSocket) => {
      settled(sock);
      onFailure(err, sock.remoteAddress);
    });
    srv.on('newSession', (id: Buffer, data: Buffer, cb: () => void) => {
      this.#sessions.put(id, data, this.#material);
      cb();
    });
    srv.on('resumeSession', (id: Buffer, cb: (err: Error | null, data: Buffer | null) => void) => {
      cb(null, this.#sessions.get(id, this.#material));
    });
    this.#configure(srv);
    return server;
  }

  #configure(srv: ClientAuthServer): void {
    srv.setSecureContext(this.#material.serverOptions);
    const auth = clientAuth(this.#material.authClients);
    srv.requestCert = auth.requestCert;
    srv.rejectUnauthorized = auth.rejectUnauthorized;
  }
}

/** yes: a valid certificate is required (the handshake fails without); optional: asked for and
 * checked after the handshake when given; no: not asked for. */
function clientAuth(mode: 'no' | 'yes' | 'optional'): { requestCert: boolean; rejectUnauthorized: boolean } {
  return { requestCert: mode !== 'no', rejectUnauthorized: mode === 'yes' };
}

function hasPeerCertificate(sock: tls.TLSSocket): boolean {
  const c = sock.getPeerCertificate();
  return c !== null && typeof c === 'object' && Object.keys(c).length > 0;
}
