// The HTTP port's connection layer: a node:http server hardened so that no client can end the
// process or hold memory or a connection without bound. It admits connections against maxclients
// (refused: a 503 and close), bounds the header section in bytes and time, the whole request and
// an idle connection in time, answers malformed requests itself (400/408/431, then close) and
// gives a client that half-closes its write side every reply before closing. Routes are the
// caller's (http-api.ts); every failure here closes only the connection concerned.

import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';

/** The HTTP port's fixed bounds (documented in the README). Node's own defaults are a minute for
 * the header section and checked every 30 s, so a client trickling one header line a second held
 * its connection for up to 90 s, and an idle or never-reading client forever. */
export const HTTP_LIMITS = {
  /** The request line and all headers must arrive within this time of the request's start (408). */
  headersTimeoutMs: 10_000,
  /** The whole request, body included, must arrive within this time (408). */
  requestTimeoutMs: 60_000,
  /** An idle keep-alive connection is closed after this long without a new request. */
  keepAliveTimeoutMs: 5_000,
  /** A connection with no byte read or written for this long is closed (a client that stopped
   * reading a response, or sending a body). Node gives a write that has made some progress one
   * more period, so a client that stops reading mid-response is closed within twice this. */
  idleTimeoutMs: 30_000,
  /** How often the header and request deadlines are checked: the most they are enforced late. */
  checkIntervalMs: 1_000,
  /** Largest request line plus header section (431 beyond). */
  maxHeaderBytes: 16 * 1024,
  /** A refused or malformed connection gets its answer and is then closed after at most this
   * long, reading (and dropping) whatever the client still sends, so that it sees the answer
   * rather than a reset. */
  closeLingerMs: 1_000,
} as const;

export interface HttpListenerHooks {
  readonly log: Logger;
  /** True when one more connection stays within maxclients (every front door counted). */
  mayAdmit(): boolean;
  /** Called when an admitted connection closes. */
  admitted(delta: 1 | -1): void;
  /** A malformed request or a refused connection, for the request counters. */
  rejected(status: number): void;
}

/** The statuses this layer answers itself, with their reason phrases and JSON error texts. */
const SOCKET_ANSWERS = {
  400: ['Bad Request', 'bad request'],
  408: ['Request Timeout', 'request timeout'],
  431: ['Request Header Fields Too Large', 'request header fields too large'],
  503: ['Service Unavailable', 'max number of clients reached'],
} as const;
type SocketStatus = keyof typeof SOCKET_ANSWERS;

/** A complete HTTP/1.1 response with a JSON error body, written straight to a socket. */
export function rawErrorResponse(status: SocketStatus): string {
  const [reason, text] = SOCKET_ANSWERS[status];
  const body = JSON.stringify({ error: text });
  return (
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `connection: close\r\n\r\n${body}`
  );
}

function statusOfClientError(code: string): SocketStatus {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_HEADERS_TIMEOUT') return 408;
  return 400;
}

/** Errors that only mean the peer went away: no answer is possible, nothing worth a log line. */
const PEER_GONE = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

/** Ends a socket after `answer` (if any), drops what it still sends, and destroys it after the
 * linger or at its EOF, whichever is first. Idempotent. */
function closeWith(sock: Duplex, answer: string | null): void {
  if (sock.destroyed) return;
  if (sock.writable) sock.end(answer ?? undefined);
  sock.resume();
  const timer = setTimeout(() => sock.destroy(), HTTP_LIMITS.closeLingerMs);
  timer.unref();
  sock.once('close', () => clearTimeout(timer));
  sock.once('end', () => sock.destroy());
}

/** An http.Server with the bounds above that hands well-formed requests to `onRequest`. The
 * handler's own errors are the caller's to catch; `onRequest` must never throw. */
export function createHttpListener(
  hooks: HttpListenerHooks,
  onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  tlsOptions: tls.TlsOptions | null = null,
): http.Server {
  const options: http.ServerOptions = {
    maxHeaderSize: HTTP_LIMITS.maxHeaderBytes,
    headersTimeout: HTTP_LIMITS.headersTimeoutMs,
    requestTimeout: HTTP_LIMITS.requestTimeoutMs,
    connectionsCheckingInterval: HTTP_LIMITS.checkIntervalMs,
    noDelay: true,
  };
  // http-tls: an https.Server is an http.Server whose 'connection' handler is the TLS handshake,
  // so the admission below still runs first, on the TCP socket.
  const srv = tlsOptions === null ? http.createServer(options, onRequest) : https.createServer({ ...tlsOptions, ...options }, onRequest);
  srv.keepAliveTimeout = HTTP_LIMITS.keepAliveTimeoutMs;
  // With no 'timeout' listener on the server, a socket idle this long is destroyed.
  srv.timeout = HTTP_LIMITS.idleTimeoutMs;
  // Node's default (false) aborts requests still being answered when the client half-closes, and
  // closes the socket at once: `printf 'GET /health ...' | nc -q1` got nothing. With it on, the
  // server answers every request it has read, then closes. (Undocumented but stable since Node 0.x;
  // test/e2e/http.test.ts pins the behaviour.)
  (srv as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;

  // Expect: 100-continue is answered by the request handler (only once the request is admitted,
  // authorized and its declared length accepted), not up front by Node.
  srv.on('checkContinue', onRequest);

  const logged = new WeakSet<Duplex>();
  srv.on('clientError', (err: NodeJS.ErrnoException, sock: Duplex) => {
    const code = err.code ?? '';
    // A parse error can be raised again for each chunk the client still sends; answer and log once.
    if (logged.has(sock)) {
      if (!sock.destroyed) sock.destroy();
      return;
    }
    logged.add(sock);
    if (PEER_GONE.has(code)) {
      sock.destroy();
      return;
    }
    const status = statusOfClientError(code);
    hooks.log.debug({ code, status, remote: (sock as net.Socket).remoteAddress }, 'HTTP client error; closing the connection');
    hooks.rejected(status);
    // Only answer when no response has begun on this socket (else the bytes would interleave).
    const inResponse = (sock as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    closeWith(sock, inResponse ? null : rawErrorResponse(status));
  });

  // Admission runs before Node's HTTP machinery sees the socket: the listener Node installs on
  // 'connection' is taken off and called only for connections within maxclients, so a refused one
  // costs no parser and is never handed to the routes.
  const installed = srv.listeners('connection');
  if (installed.length !== 1) throw new Error(`http.Server has ${installed.length} 'connection' listeners, expected Node's one`);
  const nodeConnection = installed[0] as (sock: net.Socket) => void;
  srv.removeListener('connection', nodeConnection);
  srv.on('connection', (sock: net.Socket) => {
    if (!hooks.mayAdmit()) {
      // Every socket has an error handler: a refused client that resets (SO_LINGER 0) once ended
      // the process with an unhandled 'error'.
      sock.on('error', () => sock.destroy());
      hooks.rejected(503);
      hooks.log.debug({ remote: sock.remoteAddress }, 'HTTP connection refused: max number of clients reached');
      closeWith(sock, rawErrorResponse(503));
      return;
    }
    hooks.admitted(1);
    sock.once('close', () => hooks.admitted(-1));
    nodeConnection.call(srv, sock);
  });
  return srv;
}
