// The planner lives in src/cluster/rebalance-plan.ts, shared with the node-run rebalance of the
// HTTP API (dashboard): one planner, so `rebalance --dry-run` and GET /v1/rebalance/plan agree.
export * from '../../cluster/rebalance-plan.js';
