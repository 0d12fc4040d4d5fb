// Which command arguments are secrets, for every place that shows a client's command (SLOWLOG,
// MONITOR, the dashboard's slow log): the positions redis-server 7.0.15 replaces with "(redacted)",
// plus a few it leaks (see docs/observability-slowlog.md). Pure; nothing is allocated unless a
// secret is present, so the common command costs a few byte compares.

/** What a secret argument is shown as (Redis's shared.redacted). */
export const REDACTED = '(redacted)';

type Arg = Uint8Array | string;

/** CONFIG SET options whose value is a secret: Redis's SENSITIVE_CONFIG ones (requirepass,
 * masterauth, masteruser), the TLS passphrases Redis 7.0 still shows, and Tessera's own. */
const SENSITIVE_CONFIG = ['requirepass', 'masterauth', 'masteruser', 'tls-key-file-pass', 'tls-client-key-file-pass', 'cluster-bus-secret'] as const;

/** Case-insensitive ASCII compare of an argument with a lower-case word, without allocating. */
function is(a: Arg | undefined, lower: string): boolean {
  if (a === undefined || a.length !== lower.length) return false;
  const str = typeof a === 'string';
  for (let i = 0; i < lower.length; i++) {
    let c = str ? a.charCodeAt(i) : a[i]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20; // only letters fold
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function sensitiveOption(a: Arg | undefined): boolean {
  for (const o of SENSITIVE_CONFIG) if (is(a, o)) return true;
  return false;
}

/** A copy of args with positions `from`, `from+1`, ... (count of them, bounded by args) redacted. */
function redactInto<A extends Arg>(out: (A | string)[] | null, args: readonly A[], from: number, count: number): (A | string)[] {
  const o: (A | string)[] = out ?? args.slice();
  for (let i = from; i < from + count && i < o.length; i++) o[i] = REDACTED;
  return o;
}

/**
 * The arguments with every secret replaced by REDACTED, or null when none is secret (the common
 * case allocates nothing). args[0] is the command name. Where Redis 7.0.15 redacts:
 * AUTH [user] pass; HELLO ... AUTH user pass; MIGRATE ... AUTH pass / AUTH2 user pass;
 * CONFIG SET name value... (sensitive names); ACL SETUSER: everything after SETUSER.
 * Beyond Redis (which shows these): AUTH with too many arguments, CONFIG SET with an odd count,
 * HELLO with a bad protocol version, MIGRATE with an unknown option before AUTH, and the TLS
 * passphrases and cluster-bus-secret.
 */
export function redactArgs<A extends Arg>(args: readonly A[]): (A | string)[] | null {
  const n = args.length;
  if (n < 2) return null;
  const name = args[0];
  if (is(name, 'auth')) return redactInto(null, args, 1, n - 1);
  if (is(name, 'hello')) {
    let out: (A | string)[] | null = null;
    for (let j = 2; j < n; j++) {
      if (is(args[j], 'auth') && j + 2 < n) {
        out = redactInto(out, args, j + 1, 2);
        j += 2;
      } else if (is(args[j], 'setname')) {
        j++;
      }
    }
    return out;
  }
  if (is(name, 'migrate')) {
    let out: (A | string)[] | null = null;
    for (let j = 6; j < n; j++) {
      if (is(args[j], 'auth') && j + 1 < n) {
        out = redactInto(out, args, j + 1, 1);
        j += 1;
      } else if (is(args[j], 'auth2') && j + 2 < n) {
        out = redactInto(out, args, j + 1, 2);
        j += 2;
      } else if (is(args[j], 'keys')) {
        break;
      }
    }
    return out;
  }
  if (is(name, 'config') && is(args[1], 'set')) {
    let out: (A | string)[] | null = null;
    for (let j = 2; j + 1 < n; j += 2) if (sensitiveOption(args[j])) out = redactInto(out, args, j + 1, 1);
    // An odd count is an arity error in Redis, which then logs the value as given: not here.
    if (out === null && n % 2 === 1) for (let j = 3; j + 1 < n; j += 2) if (sensitiveOption(args[j])) out = redactInto(out, args, j + 1, 1);
    return out;
  }
  if (is(name, 'acl') && is(args[1], 'setuser') && n > 2) return redactInto(null, args, 2, n - 2);
  return null;
}

/** Redis's command flags that matter here (its commands/*.json names, as COMMAND INFO shows). */
type Flags = readonly string[];

/**
 * True when a command is not fed to MONITOR by the dispatcher: Redis 7.0 skips commands flagged
 * admin or skip_monitor. EVAL, EVALSHA, FCALL and their _RO forms are flagged skip_monitor only
 * because Redis feeds them itself before their script runs (so they precede the script's own
 * commands); a dispatcher feeding each command as it is dispatched therefore feeds them too.
 * `flags` are the command's (or subcommand's: CLIENT LIST is admin, CLIENT ID is not) Redis flags.
 */
export function skipsMonitor(flags: Flags, name?: Arg): boolean {
  if (flags.includes('admin')) return true;
  if (!flags.includes('skip_monitor')) return false;
  return !(name !== undefined && isScriptRun(name));
}

/** True when a command is never written to the slow log (Redis's skip_slowlog: EXEC, whose
 * commands are logged one by one). */
export function skipsSlowlog(flags: Flags): boolean {
  return flags.includes('skip_slowlog');
}

function isScriptRun(name: Arg): boolean {
  return is(name, 'eval') || is(name, 'evalsha') || is(name, 'eval_ro') || is(name, 'evalsha_ro') || is(name, 'fcall') || is(name, 'fcall_ro');
}
