// A file of N RESP `SET key value` commands for `redis-cli --pipe`: key i is `key:` + i in 12
// digits (16 bytes), its value `value:` + i in 12 digits, padded with 'v' to the value size. Every
// command has the same length, so a file's size says whether it is complete and can be reused.

import { closeSync, existsSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const KEY_BYTES = 16;
const KEY_PREFIX = 'key:';
const VALUE_PREFIX = 'value:';
const DIGITS = 12;
/** Commands per write: about 5 MB at the default sizes. */
const COMMANDS_PER_WRITE = 65_536;

function template(valueBytes: number): { bytes: Buffer; keyDigitsAt: number; valueDigitsAt: number } {
  const head = `*3\r\n$3\r\nSET\r\n$${KEY_BYTES}\r\n`;
  const key = KEY_PREFIX + '0'.repeat(DIGITS);
  const valueHead = `\r\n$${valueBytes}\r\n`;
  const value = (VALUE_PREFIX + '0'.repeat(DIGITS)).padEnd(valueBytes, 'v');
  const bytes = Buffer.from(`${head}${key}${valueHead}${value}\r\n`, 'latin1');
  const keyDigitsAt = head.length + KEY_PREFIX.length;
  return { bytes, keyDigitsAt, valueDigitsAt: head.length + key.length + valueHead.length + VALUE_PREFIX.length };
}

/** Bytes of one SET command in the file. */
export function commandBytes(valueBytes: number): number {
  return template(valueBytes).bytes.length;
}

/** The key of command i, as the file writes it. */
export function fileKey(i: number): string {
  return KEY_PREFIX + String(i).padStart(DIGITS, '0');
}

/**
 * The path of a file of `count` SETs in `dir`, written unless a complete one is there already
 * (written under a temporary name and renamed, so a file of the right size is always complete).
 */
export function respSetFile(dir: string, count: number, valueBytes: number): { path: string; bytes: number; reused: boolean } {
  if (valueBytes < VALUE_PREFIX.length + DIGITS) throw new Error(`values must be at least ${VALUE_PREFIX.length + DIGITS} bytes`);
  if (count > 10 ** DIGITS) throw new Error(`at most 10^${DIGITS} keys`);
  const t = template(valueBytes);
  const size = t.bytes.length;
  const path = join(dir, `tessera-bulk-${count}x${valueBytes}.resp`);
  const bytes = count * size;
  if (existsSync(path) && statSync(path).size === bytes) return { path, bytes, reused: true };
  const partial = `${path}.${process.pid}.partial`;
  const fd = openSync(partial, 'w');
  try {
    const chunk = Buffer.alloc(Math.min(count, COMMANDS_PER_WRITE) * size);
    for (let c = 0; c * size < chunk.length; c++) t.bytes.copy(chunk, c * size);
    for (let first = 0; first < count; first += COMMANDS_PER_WRITE) {
      const n = Math.min(COMMANDS_PER_WRITE, count - first);
      for (let c = 0; c < n; c++) {
        const at = c * size;
        writeDigits(chunk, at + t.keyDigitsAt, first + c);
        writeDigits(chunk, at + t.valueDigitsAt, first + c);
      }
      writeSync(fd, chunk, 0, n * size);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(partial, path);
  return { path, bytes, reused: false };
}

/** Writes `n` as DIGITS zero-padded decimal digits at `at`. */
function writeDigits(buf: Buffer, at: number, n: number): void {
  let v = n;
  for (let d = DIGITS - 1; d >= 0; d--) {
    buf[at + d] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
}
