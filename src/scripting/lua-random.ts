// Redis's PRNG for math.random (rand48 in 16-bit limbs, as redis/src/rand.c): scripts get the
// same sequence as on redis-server, which reseeds it with 0 before every EVAL.

const A0 = 0xe66d;
const A1 = 0xdeec;
const A2 = 0x5;
const C = 0xb;
const X0 = 0x330e;

let x0 = X0;
let x1 = 0xabcd;
let x2 = 0x1234;

export function srand48(seed: number): void {
  const s = seed | 0;
  x0 = X0;
  x1 = s & 0xffff;
  x2 = (s >>> 16) & 0xffff;
}

/** The next value in [0, 2^31). */
export function lrand48(): number {
  const p0 = A0 * x0 + C;
  const p1 = A0 * x1 + A1 * x0 + Math.floor(p0 / 65536);
  const p2 = A0 * x2 + A1 * x1 + A2 * x0 + Math.floor(p1 / 65536);
  x0 = p0 % 65536;
  x1 = p1 % 65536;
  x2 = p2 % 65536;
  return x2 * 32768 + (x1 >>> 1);
}

export const LRAND48_MAX = 2147483647;
