// The command catalogue as the ACL sees it: every command and subcommand with an id (a bit in a
// permission bitmap), its categories as a mask, where its keys and channels are among the
// arguments. Built by the server (server/acl-catalogue.ts) from the one command table and given
// to Acl at start: src/acl never imports the command layer.

/** Key permissions a key spec needs (Redis: access -> read; insert, delete, update -> write). */
export const PERM_READ = 1;
export const PERM_WRITE = 2;
export const PERM_ALL = 3;

export const FIND_RANGE = 0;
export const FIND_KEYNUM = 1;

/** One key spec, flattened into numbers for the check's inner loop. */
export interface AclKeySpec {
  /** PERM_READ | PERM_WRITE as the spec's flags demand (0: any matching pattern will do). */
  readonly perm: number;
  /** begin_search by index (keyword null), or by keyword searched from startFrom. */
  readonly index: number;
  readonly keyword: string | null;
  readonly startFrom: number;
  /** find_keys: FIND_RANGE (f0 lastkey, f1 keystep, f2 limit) or FIND_KEYNUM (f0 keynumidx,
   * f1 firstkey, f2 keystep). */
  readonly find: number;
  readonly f0: number;
  readonly f1: number;
  readonly f2: number;
  /** Keys at fixed positions index..index+f0, step f1 (begin by index, range with lastkey >= 0):
   * the check's fast path (GET, SET, most commands). */
  readonly fixed: boolean;
}

/** Channel arguments (Redis's commands_with_channels table). */
export const CH_PUBLISH = 1;
export const CH_SUBSCRIBE = 2;
export const CH_PATTERN = 4;

export interface AclChannelSpec {
  readonly flags: number;
  readonly first: number;
  /** -1: up to the last argument. */
  readonly last: number;
}

export interface AclCommand {
  /** Bit in a selector's command bitmap. */
  readonly id: number;
  /** 'get', or 'config|get'. */
  readonly fullname: string;
  readonly arity: number;
  /** Bit i set: category ACL_CATEGORY_NAMES[i]. */
  readonly categories: number;
  /** Runs before authentication: always allowed (AUTH, HELLO...). */
  readonly noAuth: boolean;
  readonly keySpecs: readonly AclKeySpec[];
  /** SET and BITFIELD: the key's permission depends on the arguments (Redis's getkeys procs). */
  readonly variableFlags: 'set' | 'bitfield' | null;
  readonly channels: AclChannelSpec | null;
  readonly subs: readonly AclCommand[];
  readonly parent: AclCommand | null;
}

export interface AclCatalogue {
  /** By command table index (null: hidden, unknown to users). */
  readonly byIndex: readonly (AclCommand | null)[];
  /** Top-level commands in table order. */
  readonly commands: readonly AclCommand[];
  /** Commands and subcommands by id. */
  readonly byId: readonly AclCommand[];
  /** Lower-case full name -> command ('config|get'). */
  readonly byName: ReadonlyMap<string, AclCommand>;
}

/** Redis 7.0's categories, in ACL CAT's order (bit i of a mask). */
export const ACL_CATEGORY_NAMES = [
  'keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog',
  'geo', 'stream', 'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection',
  'transaction', 'scripting',
] as const;

export function categoryBit(name: string): number {
  const i = (ACL_CATEGORY_NAMES as readonly string[]).indexOf(name.toLowerCase());
  return i < 0 ? 0 : 1 << i;
}

/** Builds the lookup structures from top-level commands whose ids are already assigned. */
export function catalogueOf(byIndex: readonly (AclCommand | null)[]): AclCatalogue {
  const commands = byIndex.filter((c): c is AclCommand => c !== null);
  const byId: AclCommand[] = [];
  const byName = new Map<string, AclCommand>();
  for (const c of commands) {
    byId[c.id] = c;
    byName.set(c.fullname, c);
    for (const s of c.subs) {
      byId[s.id] = s;
      byName.set(s.fullname, s);
    }
  }
  return { byIndex, commands, byId, byName };
}
