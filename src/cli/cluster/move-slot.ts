// Moving hash slots between primaries, shared by fix, remove-node, rebalance and reshard: open
// the slots (IMPORTING on the target, MIGRATING on the source), move their keys, then assign them
// (SETSLOT NODE on the target, the source, every other primary; never on a replica, which Redis
// refuses), a group of slots at a time with pipelined SETSLOTs. Keys move with Tessera's bulk
// CLUSTER MIGRATESLOT when the source has it (one call per group), else (redis-server) with
// redis-cli's GETKEYSINSLOT + MIGRATE loop in batches of `batchKeys`, one slot at a time. A move that stops half way leaves its slots open on both
// sides; `fix` resumes it.

import { formatAddress, type Address } from './args.js';
import { NodeError, isUnknownSubcommand, type AdminClient, type AdminPool } from './admin-client.js';
import { OperationError } from './errors.js';

export interface MoveSettings {
  /** MIGRATE's (and MIGRATESLOT's) I/O timeout. */
  timeoutMs: number;
  /** Keys per GETKEYSINSLOT / MIGRATE round in the fallback. */
  batchKeys: number;
  /** Overwrite keys that already exist on the target (MIGRATE ... REPLACE). */
  replace: boolean;
}

export const DEFAULT_MOVE_SETTINGS: MoveSettings = { timeoutMs: 60_000, batchKeys: 1000, replace: false };

/** A primary taking part in a move. */
export interface Endpoint {
  id: string;
  address: Address;
  client: AdminClient;
}

/** How often the per-slot progress polls COUNTKEYSINSLOT while MIGRATESLOT runs. */
const PROGRESS_POLL_MS = 200;
/** MIGRATESLOT moves a whole slot in one call: its reply may take this many I/O timeouts. */
const MIGRATESLOT_CALL_TIMEOUTS = 10;

/** Sources known not to have CLUSTER MIGRATESLOT (they answered "unknown subcommand"). */
const withoutFastPath = new Set<string>();

/**
 * Moves several slots from one `src` to one `dst`: the slots are opened and, after their keys
 * have moved one slot at a time, assigned with pipelined SETSLOTs (one round trip per node for
 * the whole group, so a node saves its config once per group, not once per slot).
 */
export async function moveSlotGroup(
  pool: AdminPool,
  slots: readonly number[],
  src: Endpoint,
  dst: Endpoint,
  otherPrimaries: readonly Endpoint[],
  settings: MoveSettings,
  hooks: { started(slot: number, keys: number | null): void; advanced(moved: number): void; done(slot: number, moved: number): void },
): Promise<number> {
  await Promise.all(slots.map((s) => dst.client.call(['CLUSTER', 'SETSLOT', s, 'IMPORTING', src.id])));
  await Promise.all(slots.map((s) => src.client.call(['CLUSTER', 'SETSLOT', s, 'MIGRATING', dst.id])));
  // Counted once the slots are MIGRATING, when no key can enter them any more: a count taken
  // before would miss keys written in between, and an "empty" slot skipped would leave them
  // behind on the source when the slot is handed over.
  const counts = await Promise.all(
    slots.map((s) => src.client.callInteger(['CLUSTER', 'COUNTKEYSINSLOT', s]).catch(() => null)),
  );
  let total = 0;
  const srcName = formatAddress(src.address);
  if (!withoutFastPath.has(srcName)) {
    // Tessera: every slot's MIGRATESLOT is sent at once; the source runs them back to back, so
    // the group costs one round trip instead of one per slot.
    try {
      // One call for the group's slots that hold keys: the source streams them in batches that
      // span slots, so many small slots cost what one big one does.
      const loaded = slots.filter((_, i) => counts[i] !== 0);
      if (loaded.length > 0) total = await migrateSlotCall(src, dst, loaded, settings);
      slots.forEach((slot, i) => {
        hooks.started(slot, counts[i] ?? null);
        hooks.done(slot, counts[i] ?? 0);
      });
    } catch (err) {
      if (!isUnknownSubcommand(err)) throw explainBusy(err, -1, dst, settings);
      withoutFastPath.add(srcName);
    }
  }
  if (withoutFastPath.has(srcName)) {
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      const keys = counts[i] ?? null;
      hooks.started(slot, keys);
      // An empty slot needs no migration call at all.
      const moved = keys === 0 ? 0 : await migrateKeys(pool, slot, src, dst, settings, (n) => hooks.advanced(n), true);
      total += moved;
      hooks.done(slot, moved);
    }
  }
  // The target first: it owns the slots from then on and tells the others. Every other node may
  // already have heard that and, having lost its last slot, turned itself into a replica.
  await Promise.all(slots.map((s) => dst.client.call(['CLUSTER', 'SETSLOT', s, 'NODE', dst.id])));
  const tell = (e: Endpoint): Promise<unknown> => Promise.all(slots.map((s) => setSlotNodeUnlessReplica(e, s, dst.id)));
  if (src.id !== dst.id) await tell(src);
  await Promise.all(otherPrimaries.filter((o) => o.id !== dst.id && o.id !== src.id).map(tell));
  return total;
}

/** Redis's reply to SETSLOT on a replica (cluster.c); redis-cli's move treats it as done (#9223). */
export const SETSLOT_ON_REPLICA = 'ERR Please use SETSLOT only with masters.';

/**
 * CLUSTER SETSLOT `slot` NODE `ownerId` on a node that is not the new owner. Redis (since 7.0,
 * with cluster-allow-replica-migration, the default) turns a primary that loses its last slot
 * into a replica of the node that took it, as soon as it hears of the new owner, and then
 * refuses SETSLOT with SETSLOT_ON_REPLICA. That node already knows the owner, so, as redis-cli
 * does, the refusal counts as done. The new owner itself must never be excused.
 */
export async function setSlotNodeUnlessReplica(e: Endpoint, slot: number, ownerId: string): Promise<void> {
  try {
    await e.client.call(['CLUSTER', 'SETSLOT', slot, 'NODE', ownerId]);
  } catch (err) {
    if (err instanceof NodeError && err.kind === 'reply' && err.detail.startsWith(SETSLOT_ON_REPLICA)) return;
    throw err;
  }
}

/**
 * SETSLOT NODE dst on the target first (it bumps its epoch and owns the slot from then on), then
 * on the source (which stops redirecting with ASK), then on every other primary.
 */
export async function assignSlot(slot: number, dst: Endpoint, src: Endpoint | null, others: readonly Endpoint[]): Promise<void> {
  await dst.client.call(['CLUSTER', 'SETSLOT', slot, 'NODE', dst.id]);
  if (src !== null && src.id !== dst.id) await setSlotNodeUnlessReplica(src, slot, dst.id);
  for (const o of others) {
    if (o.id === dst.id || o.id === src?.id) continue;
    await setSlotNodeUnlessReplica(o, slot, dst.id);
  }
}

/**
 * Moves every key of `slot` from `src` to `dst` (the slot state is the caller's business). With
 * `cold`, only the MIGRATE loop is used (for keys in slots the source does not serve).
 */
export async function migrateKeys(
  pool: AdminPool,
  slot: number,
  src: Endpoint,
  dst: Endpoint,
  settings: MoveSettings,
  onProgress?: (movedKeys: number) => void,
  cold = false,
): Promise<number> {
  const srcName = formatAddress(src.address);
  if (!cold && !withoutFastPath.has(srcName)) {
    try {
      return await migrateSlotFast(pool, slot, src, dst, settings, onProgress);
    } catch (err) {
      if (!isUnknownSubcommand(err)) throw explainBusy(err, slot, dst, settings);
      withoutFastPath.add(srcName);
    }
  }
  return migrateKeysInBatches(slot, src, dst, settings, onProgress);
}

/** Tessera's CLUSTER MIGRATESLOT, with COUNTKEYSINSLOT polled on a side connection for progress. */
async function migrateSlotFast(
  pool: AdminPool,
  slot: number,
  src: Endpoint,
  dst: Endpoint,
  settings: MoveSettings,
  onProgress?: (movedKeys: number) => void,
): Promise<number> {
  let stopPolling = (): void => undefined;
  if (onProgress !== undefined) {
    const initial = await src.client.callInteger(['CLUSTER', 'COUNTKEYSINSLOT', slot]);
    if (initial > 0) stopPolling = pollProgress(pool, src.address, slot, initial, onProgress);
  }
  try {
    const moved = await migrateSlotCall(src, dst, [slot], settings);
    onProgress?.(moved);
    return moved;
  } finally {
    stopPolling();
  }
}

/** One CLUSTER MIGRATESLOT for `slots` (Tessera); the number of keys moved. */
function migrateSlotCall(src: Endpoint, dst: Endpoint, slots: readonly number[], settings: MoveSettings): Promise<number> {
  const args = ['CLUSTER', 'MIGRATESLOT', slots[0]!, dst.address.host, dst.address.port, 'TIMEOUT', settings.timeoutMs, 'SLOTS', ...slots.slice(1)];
  return src.client.callInteger(args, settings.timeoutMs * MIGRATESLOT_CALL_TIMEOUTS);
}

/** Polls the source's key count until stopped; returns the stop function. Errors end the polling. */
function pollProgress(pool: AdminPool, addr: Address, slot: number, initial: number, onProgress: (moved: number) => void): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let side: Promise<AdminClient> | undefined;
  const tick = async (): Promise<void> => {
    try {
      side ??= pool.side(addr);
      const client = await side;
      if (stopped) return;
      const left = await client.callInteger(['CLUSTER', 'COUNTKEYSINSLOT', slot], PROGRESS_POLL_MS * 10);
      if (stopped) return;
      onProgress(Math.max(0, initial - left));
      timer = setTimeout(() => void tick(), PROGRESS_POLL_MS);
    } catch {
      // progress is best effort; the move itself reports its own errors
    }
  };
  timer = setTimeout(() => void tick(), PROGRESS_POLL_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
    void side?.then((c) => c.close(), () => undefined);
  };
}

/** redis-cli's way: GETKEYSINSLOT a batch, MIGRATE it, until the slot is empty on the source. */
async function migrateKeysInBatches(
  slot: number,
  src: Endpoint,
  dst: Endpoint,
  settings: MoveSettings,
  onProgress?: (movedKeys: number) => void,
): Promise<number> {
  const initial = await src.client.callInteger(['CLUSTER', 'COUNTKEYSINSLOT', slot]);
  // Keys only leave a migrating slot (new ones are redirected), so this many rounds suffice; the
  // margin covers keys written before the slot was opened.
  const maxRounds = Math.ceil(initial / settings.batchKeys) + 1000;
  let moved = 0;
  for (let round = 0; ; round++) {
    if (round >= maxRounds) throw new OperationError(`slot ${slot}: keys keep appearing on ${src.client.address}; gave up after ${round} rounds`);
    const reply = await src.client.callBuffer(['CLUSTER', 'GETKEYSINSLOT', slot, settings.batchKeys]);
    if (!Array.isArray(reply)) throw new NodeError(src.client.address, 'reply', `CLUSTER GETKEYSINSLOT: unexpected reply ${String(reply)}`);
    const keys = reply.filter((k): k is Buffer => Buffer.isBuffer(k));
    if (keys.length === 0) return moved;
    const migrate = (replace: boolean): Promise<unknown> =>
      src.client.call(
        ['MIGRATE', dst.address.host, dst.address.port, '', 0, settings.timeoutMs, ...(replace ? ['REPLACE'] : []), 'KEYS', ...keys],
        settings.timeoutMs + 5_000,
      );
    try {
      await migrate(settings.replace);
    } catch (err) {
      throw explainBusy(err, slot, dst, settings);
    }
    moved += keys.length;
    onProgress?.(moved);
  }
}

/** A BUSYKEY error becomes an OperationError that says what to do; others pass through. */
function explainBusy(err: unknown, slot: number, dst: Endpoint, settings: MoveSettings): unknown {
  if (err instanceof NodeError && err.kind === 'reply' && /BUSYKEY/.test(err.detail) && !settings.replace) {
    return new OperationError(
      `slot ${slot}: ${formatAddress(dst.address)} already holds some of its keys (${err.detail}); ` +
        'the slot is left open. Run again with --replace to overwrite them on the target.',
    );
  }
  return err;
}
