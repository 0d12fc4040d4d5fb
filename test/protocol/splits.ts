// The ways a parser test cuts its input, so that a resumable parser is checked whole, byte by
// byte, and split at every boundary (and in three at a spread of positions): the same result
// every way.

/** Every way of cutting `input` that the parser tests try. */
export function splits(input: Buffer): Buffer[][] {
  const ways: Buffer[][] = [[input]];
  const bytes: Buffer[] = [];
  for (let i = 0; i < input.length; i++) bytes.push(input.subarray(i, i + 1));
  ways.push(bytes);
  for (let i = 1; i < input.length; i++) ways.push([input.subarray(0, i), input.subarray(i)]);
  // Three chunks at a spread of positions (at most about 20 x 20 of them).
  const step = Math.max(3, Math.ceil(input.length / 20));
  for (let i = 1; i < input.length; i += step) {
    for (let j = i + 1; j < input.length; j += step + 2) {
      ways.push([input.subarray(0, i), input.subarray(i, j), input.subarray(j)]);
    }
  }
  return ways;
}
