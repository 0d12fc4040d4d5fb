// Failed logins per client address: after FREE_FAILURES failures within WINDOW_MS, every attempt
// from that address is refused, without looking at the password, until a delay has passed; each
// failure while throttled doubles the delay (up to MAX_DELAY_MS). A success clears only its own
// address. At most MAX_ADDRESSES addresses are tracked; past that the oldest is forgotten.

export const FREE_FAILURES = 10;
export const WINDOW_MS = 60_000;
export const FIRST_DELAY_MS = 1_000;
export const MAX_DELAY_MS = 60_000;
export const MAX_ADDRESSES = 16_384;

interface Attempts {
  failures: number;
  windowStartMs: number;
  blockedUntilMs: number;
  delayMs: number;
}

export class LoginThrottle {
  private readonly byIp = new Map<string, Attempts>();
  /** Attempts refused because their address was throttled (INFO acl_login_throttled). */
  throttled = 0;

  /** True when a login from ip must be refused now. */
  blocked(ip: string, nowMs = Date.now()): boolean {
    const a = this.byIp.get(ip);
    if (a === undefined || nowMs >= a.blockedUntilMs) return false;
    this.throttled++;
    return true;
  }

  failed(ip: string, nowMs = Date.now()): void {
    let a = this.byIp.get(ip);
    if (a === undefined || (nowMs - a.windowStartMs > WINDOW_MS && nowMs >= a.blockedUntilMs + WINDOW_MS)) {
      if (a === undefined && this.byIp.size >= MAX_ADDRESSES) {
        const oldest = this.byIp.keys().next().value;
        if (oldest !== undefined) this.byIp.delete(oldest);
      }
      // A window ends quietly (no throttling in the last WINDOW_MS): the address starts afresh.
      this.byIp.delete(ip);
      a = { failures: 0, windowStartMs: nowMs, blockedUntilMs: 0, delayMs: 0 };
      this.byIp.set(ip, a);
    }
    a.failures++;
    if (a.failures >= FREE_FAILURES) {
      a.delayMs = a.delayMs === 0 ? FIRST_DELAY_MS : Math.min(MAX_DELAY_MS, a.delayMs * 2);
      a.blockedUntilMs = nowMs + a.delayMs;
    }
  }

  succeeded(ip: string): void {
    this.byIp.delete(ip);
  }

  get tracked(): number {
    return this.byIp.size;
  }
}

/** The ip part of "ip:port" (IPv6 addresses keep their colons). */
export function ipOf(addr: string): string {
  const i = addr.lastIndexOf(':');
  return i < 0 ? addr : addr.slice(0, i);
}
