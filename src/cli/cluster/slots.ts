// Slot ranges live in src/cluster/slot-ranges.ts (shared with the node-run rebalance).
export * from '../../cluster/slot-ranges.js';
