// notify-keyspace-events: Redis's event classes as bit flags, and the option's text both ways
// (Redis's keyspaceEventsStringToFlags / keyspaceEventsFlagsToString, notify.c). The shared
// kernel's: the config parses the option, the shards test the bits before emitting anything.

export const NOTIFY_KEYSPACE = 1 << 0; // K
export const NOTIFY_KEYEVENT = 1 << 1; // E
export const NOTIFY_GENERIC = 1 << 2; // g
export const NOTIFY_STRING = 1 << 3; // $
export const NOTIFY_LIST = 1 << 4; // l
export const NOTIFY_SET = 1 << 5; // s
export const NOTIFY_HASH = 1 << 6; // h
export const NOTIFY_ZSET = 1 << 7; // z
export const NOTIFY_EXPIRED = 1 << 8; // x
export const NOTIFY_EVICTED = 1 << 9; // e
export const NOTIFY_STREAM = 1 << 10; // t
export const NOTIFY_KEY_MISS = 1 << 11; // m
export const NOTIFY_MODULE = 1 << 13; // d
export const NOTIFY_NEW = 1 << 14; // n
/** 'A': every class but key miss and new (Redis's NOTIFY_ALL). */
export const NOTIFY_ALL = NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET
  | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE;

/** The class flag of each letter (K and E are the channel kinds, not classes; A is NOTIFY_ALL). */
const LETTERS: Readonly<Record<string, number>> = {
  A: NOTIFY_ALL, g: NOTIFY_GENERIC, $: NOTIFY_STRING, l: NOTIFY_LIST, s: NOTIFY_SET, h: NOTIFY_HASH,
  z: NOTIFY_ZSET, x: NOTIFY_EXPIRED, e: NOTIFY_EVICTED, K: NOTIFY_KEYSPACE, E: NOTIFY_KEYEVENT,
  t: NOTIFY_STREAM, m: NOTIFY_KEY_MISS, d: NOTIFY_MODULE, n: NOTIFY_NEW,
};

/** The flags of an option value, or -1 when it holds a letter Redis refuses. */
export function keyspaceEventsFromString(s: string): number {
  let flags = 0;
  for (const ch of s) {
    const f = LETTERS[ch];
    if (f === undefined) return -1;
    flags |= f;
  }
  return flags;
}

/** The option as CONFIG GET prints it (Redis's normalised order: "A" or the classes, then K, E, m). */
export function keyspaceEventsToString(flags: number): string {
  let r = '';
  if ((flags & NOTIFY_ALL) === NOTIFY_ALL) {
    r = 'A';
  } else {
    if (flags & NOTIFY_GENERIC) r += 'g';
    if (flags & NOTIFY_STRING) r += '$';
    if (flags & NOTIFY_LIST) r += 'l';
    if (flags & NOTIFY_SET) r += 's';
    if (flags & NOTIFY_HASH) r += 'h';
    if (flags & NOTIFY_ZSET) r += 'z';
    if (flags & NOTIFY_EXPIRED) r += 'x';
    if (flags & NOTIFY_EVICTED) r += 'e';
    if (flags & NOTIFY_STREAM) r += 't';
    if (flags & NOTIFY_MODULE) r += 'd';
    if (flags & NOTIFY_NEW) r += 'n';
  }
  if (flags & NOTIFY_KEYSPACE) r += 'K';
  if (flags & NOTIFY_KEYEVENT) r += 'E';
  if (flags & NOTIFY_KEY_MISS) r += 'm';
  return r;
}

/** The class flag of a ctx.notify type letter ('g', '$', ...); 0 for an unknown one. */
export function eventClassFlag(type: string): number {
  const f = LETTERS[type];
  return f === undefined || type === 'A' || type === 'K' || type === 'E' ? 0 : f;
}
