// Assertions for invariants: a broken one throws an InvariantError, which nothing on the data path
// catches. Inside a shard worker it ends the worker, and the supervisor (runtime/shard-link.ts)
// restarts it on its memory, as Redis's serverAssert stops the server rather than run on state it
// no longer understands. Imports nothing, so that every layer may use it.

/** A broken invariant: a bug, never a client's doing. Not to be caught and turned into a reply. */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

/** Throws an InvariantError saying `what` unless `cond` holds. `what` may be a function, so that
 * building the message costs nothing on the path where the invariant holds. */
export function assert(cond: unknown, what: string | (() => string)): asserts cond {
  if (!cond) throw new InvariantError(typeof what === 'string' ? what : what());
}

/** A branch that cannot be taken: throws an InvariantError saying why it could not. */
export function unreachable(what: string): never {
  throw new InvariantError(what);
}

/** True for an InvariantError (one thrown by another module instance counts too, by its name). */
export function isInvariantError(e: unknown): e is InvariantError {
  return e instanceof InvariantError || (e instanceof Error && e.name === 'InvariantError');
}
