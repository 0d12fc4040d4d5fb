// The order of the two sides of a benchmark pair: it alternates round by round, so that neither
// server always gets the warmer caches or the quieter minute (docs/benchmarks.md).

/** Runs `a` and `b` one after the other, `a` first in odd rounds (counted from 1) and `b` first in
 * even ones; resolves with their results as [a's, b's]. */
export async function alternate<A, B>(round: number, a: () => A | Promise<A>, b: () => B | Promise<B>): Promise<[A, B]> {
  if (round % 2 === 1) {
    const first = await a();
    return [first, await b()];
  }
  const first = await b();
  return [await a(), first];
}
