/** True when argc (name included) satisfies the Redis arity rule: n > 0 exactly, n < 0 at least -n. */
export function arityOk(arity: number, argc: number): boolean {
  return arity > 0 ? argc === arity : argc >= -arity;
}
