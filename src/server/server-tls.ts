// The process's TLS state: the TlsContexts built from the tls-* options at start (when some door
// or link uses TLS), kept in step with CONFIG SET, and the TLS listeners of the doors. A CONFIG SET
// of a TLS option is checked on the whole draft (cert and key set together are checked together)
// and installed only once the set is committed; a refused one leaves the old contexts in place,
// with Redis's reply and the reason in the log. Handshake failures are logged at debug only.

import type net from 'node:net';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { InvalidValue } from '../config/params.js';
import { TLS_RELOAD_OPTIONS, TLS_UPDATE_FAILED, TlsContexts, buildTlsMaterial, tlsInUse, type HandshakeFailure, type TlsMaterial } from '../config/tls.js';

export class ServerTls {
  #contexts: TlsContexts | null = null;
  /** Checked by the draft check of the CONFIG SET under way; installed when it commits. */
  #pending: TlsMaterial | null = null;

  /** Throws an Error (the server does not start) when TLS is used and its options cannot be. */
  constructor(config: Config, private readonly log: Logger) {
    if (tlsInUse(config.values)) {
      try {
        this.#contexts = new TlsContexts(config.values);
      } catch (e) {
        if (e instanceof InvalidValue) throw new Error(`Failed to configure TLS: ${e.message}`);
        throw e;
      }
    }
    config.checkDraft((draft, names) => {
      this.#pending = null;
      const name = names.find((n) => TLS_RELOAD_OPTIONS.has(n));
      if (name === undefined || !tlsInUse(draft)) return null;
      try {
        this.#pending = buildTlsMaterial(draft);
        return null;
      } catch (e) {
        if (!(e instanceof InvalidValue)) throw e;
        this.log.warn(e.message);
        this.log.warn(`Failed applying new configuration. Possibly related to new ${name} setting. Restoring previous settings.`);
        return { name, why: TLS_UPDATE_FAILED };
      }
    });
    config.onChange(() => {
      const m = this.#pending;
      this.#pending = null;
      if (m === null) return;
      if (this.#contexts === null) this.#contexts = new TlsContexts(m);
      else this.#contexts.install(m);
    });
  }

  /** The contexts, or null while no door or link uses TLS. */
  get contexts(): TlsContexts | null {
    return this.#contexts;
  }

  /** Debug-level report of a failed handshake on `door`; never more (a scanner must not flood the log). */
  failureLogger(door: string): HandshakeFailure {
    return (err, remote) => this.log.debug({ door, remote, err: err.message }, 'TLS handshake failed');
  }

  /** Opens a TLS listener on `port` of `host` handing sockets to `accept`; resolves to the bound port. */
  async listen(door: string, port: number, host: string, accept: (sock: net.Socket) => void): Promise<{ server: tls.Server; port: number }> {
    const contexts = this.#contexts;
    if (contexts === null) throw new Error(`${door}: TLS is not configured`);
    const srv = contexts.createServer(accept, this.failureLogger(door));
    const bound = await new Promise<number>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, host, () => {
        srv.off('error', reject);
        const addr = srv.address();
        resolve(addr && typeof addr === 'object' ? addr.port : port);
      });
    });
    // After listen, an accept failure (EMFILE) is logged; the listener keeps serving.
    srv.on('error', (e) => this.log.warn({ err: e.message, door }, 'TLS listener error'));
    return { server: srv, port: bound };
  }
}
