// Owner colours, shared by the slot map and the node tables so a node keeps one colour.

const COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#17becf', '#bcbd22'];
export const UNASSIGNED = '#e4e4e4';

/** Colour of the i-th primary (in the order of /v1/cluster's nodes). */
export function colourOf(i: number): string {
  return COLOURS[i % COLOURS.length] ?? UNASSIGNED;
}
