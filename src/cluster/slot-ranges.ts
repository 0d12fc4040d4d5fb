// Hash slot numbers and ranges as the CLI and the node-run rebalance print and plan them. Pure; no I/O.

export const SLOT_COUNT = 16384;

/** Inclusive [from, to]. */
export type SlotRange = readonly [number, number];

/** Ascending slots -> inclusive ranges. */
export function toRanges(slots: readonly number[]): SlotRange[] {
  const out: Array<[number, number]> = [];
  for (const s of slots) {
    const last = out[out.length - 1];
    if (last !== undefined && last[1] === s - 1) last[1] = s;
    else out.push([s, s]);
  }
  return out;
}

/** "0-5460,5462" (redis-cli's style); "-" for none. */
export function formatRanges(ranges: readonly SlotRange[]): string {
  if (ranges.length === 0) return '-';
  return ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',');
}

export function countRanges(ranges: readonly SlotRange[]): number {
  return ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
}
