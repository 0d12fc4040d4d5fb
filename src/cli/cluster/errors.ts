// The two ways a cluster subcommand fails on purpose: a UsageError (bad arguments; exit 2) and an
// OperationError (the cluster refused or is not in the state asked for; exit 1). Anything else
// thrown is a bug or a NodeError (a node failed or could not be reached; exit 1).

export class UsageError extends Error {}

export class OperationError extends Error {}
