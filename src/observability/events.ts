// The node's event log: failovers, slot migrations, shard restarts, saves and rewrites, config
// rewrites and rebalances, newest last, for the dashboard's timeline (GET /v1/events). One log per
// process (one process = one node). Bounded: a ring of EVENTS_MAX; the oldest is dropped first.
// Ids increase by one per event and are never reused, so `since` paging survives the ring wrapping.
// Slot assignments arrive one slot at a time (SETSLOT NODE per slot): consecutive ones to the same
// owner within SLOT_MERGE_MS extend the last event instead of adding one per slot.

export type EventKind = 'failover' | 'migration' | 'slot-assigned' | 'shard-restart' | 'save' | 'aof-rewrite' | 'rebalance';

export interface NodeEvent {
  /** 1, 2, 3...: never reused. */
  readonly id: number;
  /** Milliseconds since the epoch (of the last change, for a merged slot assignment). */
  time: number;
  readonly kind: EventKind;
  /** One line for people. */
  detail: string;
}

export const EVENTS_MAX = 1000;
/** Slot assignments this close together, to the same node, make one event. */
const SLOT_MERGE_MS = 2000;
/** Most ranges one merged slot-assignment event lists before it says "..." */
const RANGES_SHOWN_MAX = 8;

class EventLog {
  private readonly ring: Array<NodeEvent | undefined> = new Array<NodeEvent | undefined>(EVENTS_MAX);
  private next = 1;
  /** The event being extended by slot assignments, with its slots' ranges. */
  private merging: { event: NodeEvent; owner: string; ranges: Array<[number, number]>; count: number } | null = null;

  record(kind: EventKind, detail: string, nowMs = Date.now()): NodeEvent {
    const e: NodeEvent = { id: this.next++, time: nowMs, kind, detail };
    this.ring[e.id % EVENTS_MAX] = e;
    this.merging = null;
    return e;
  }

  /** CLUSTER SETSLOT slot NODE owner took effect here. */
  slotAssigned(slot: number, owner: string, nowMs = Date.now()): void {
    const m = this.merging;
    if (m !== null && m.owner === owner && nowMs - m.event.time <= SLOT_MERGE_MS && this.ring[m.event.id % EVENTS_MAX] === m.event) {
      const last = m.ranges[m.ranges.length - 1]!;
      if (last[1] === slot - 1) last[1] = slot;
      else m.ranges.push([slot, slot]);
      m.count++;
      m.event.time = nowMs;
      m.event.detail = slotsDetail(m.count, m.ranges, owner);
      return;
    }
    const ranges: Array<[number, number]> = [[slot, slot]];
    const event = this.record('slot-assigned', slotsDetail(1, ranges, owner), nowMs);
    this.merging = { event, owner, ranges, count: 1 };
  }

  /** Events with an id above `sinceId`, oldest first, at most `max`. */
  since(sinceId: number, max = EVENTS_MAX): NodeEvent[] {
    const out: NodeEvent[] = [];
    const first = Math.max(sinceId + 1, this.next - EVENTS_MAX, 1);
    for (let id = first; id < this.next && out.length < max; id++) {
      const e = this.ring[id % EVENTS_MAX];
      if (e !== undefined && e.id === id) out.push(e);
    }
    return out;
  }

  /** The id of the newest event (0: none yet). */
  get lastId(): number {
    return this.next - 1;
  }
}

function slotsDetail(count: number, ranges: ReadonlyArray<readonly [number, number]>, owner: string): string {
  const shown = ranges.slice(0, RANGES_SHOWN_MAX).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',');
  return `${count} slot${count === 1 ? '' : 's'} (${shown}${ranges.length > RANGES_SHOWN_MAX ? ',...' : ''}) now served by ${owner}`;
}

/** The process's event log. */
export const events = new EventLog();

/** Records an event (the one-line hook the modules that make events call). */
export function recordEvent(kind: EventKind, detail: string): void {
  events.record(kind, detail);
}
