// Reads the records of one log or snapshot file (format in records.ts) in large chunks, checking
// every checksum, and says where the valid part ends. A damaged record decides how a load goes on:
//  - torn: the file ends inside the record, or the record is the last one and fails its checksum,
//    or only zero bytes follow (a crash while appending): the tail can be cut off;
//  - corrupt: a bad record with valid data after it: damage in the middle, never cut off silently.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { FILE_HEADER, FORMAT_VERSION, FRAME_HEADER, MAX_RECORD, MIN_SET_RECORD_BYTES, OP_END, recordShapeError } from './records.js';

/** Called with each valid record: its op and payload b[q, q+len). b is reused after the call. */
export type RecordVisitor = (op: number, b: Buffer, q: number, len: number) => void;

export interface Damage {
  kind: 'torn' | 'corrupt';
  /** Byte offset of the first bad record (where a truncation would cut). */
  offset: number;
  reason: string;
}

export interface ReadOutcome {
  records: number;
  /** Bytes of the file up to the end of the last valid record. */
  validBytes: number;
  fileBytes: number;
  damage: Damage | null;
  /** The END record's count, when the file has one (snapshots). */
  endCount: number | null;
}

const CHUNK = 8 * 1024 * 1024;

export function readRecords(path: string, magic: number, visit: RecordVisitor, onProgress?: (bytes: number, total: number) => void, onCount?: (count: number) => void): ReadOutcome {
  const fd = openSync(path, 'r');
  try {
    const fileBytes = fstatSync(fd).size;
    const out: ReadOutcome = { records: 0, validBytes: 0, fileBytes, damage: null, endCount: null };
    if (fileBytes < FILE_HEADER) {
      out.damage = { kind: 'torn', offset: 0, reason: 'file shorter than its header' };
      return out;
    }
    let buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(fileBytes, FILE_HEADER)));
    readSync(fd, buf, 0, FILE_HEADER, 0);
    if (buf.readUInt32LE(0) !== magic || buf.readUInt32LE(4) !== FORMAT_VERSION) {
      out.damage = { kind: 'corrupt', offset: 0, reason: 'bad file header (not a Tessera file of this kind and version)' };
      return out;
    }
    out.validBytes = FILE_HEADER;
    // The header's key count sizes the loader's index: never more keys than the file can hold.
    onCount?.(Math.min(buf.readUInt32LE(12), Math.floor((fileBytes - FILE_HEADER) / MIN_SET_RECORD_BYTES)));
    // buf[0, have) holds the file from filePos on.
    let filePos = FILE_HEADER;
    let have = 0;
    let p = 0;
    let nextProgress = 64 * 1024 * 1024;
    const fill = (): number => {
      if (p > 0) {
        buf.copy(buf, 0, p, have);
        filePos += p;
        have -= p;
        p = 0;
      }
      const n = readSync(fd, buf, have, buf.length - have, filePos + have);
      have += n;
      return n;
    };
    fill();
    for (;;) {
      if (have - p < FRAME_HEADER) {
        if (filePos + have < fileBytes && fill() > 0) continue;
        if (have - p > 0) out.damage = { kind: 'torn', offset: filePos + p, reason: 'file ends inside a record header' };
        break;
      }
      const len = buf.readUInt32LE(p);
      const at = filePos + p;
      if (len === 0 || len > MAX_RECORD) {
        out.damage = zeroTail(fd, at, fileBytes) ? { kind: 'torn', offset: at, reason: 'zero bytes after the last record' } : { kind: 'corrupt', offset: at, reason: `bad record length ${len}` };
        break;
      }
      if (at + FRAME_HEADER + len > fileBytes) {
        out.damage = { kind: 'torn', offset: at, reason: 'file ends inside a record' };
        break;
      }
      if (have - p < FRAME_HEADER + len) {
        if (FRAME_HEADER + len > buf.length) {
          const bigger = Buffer.allocUnsafe(FRAME_HEADER + len);
          buf.copy(bigger, 0, p, have);
          filePos += p;
          have -= p;
          p = 0;
          buf = bigger;
        }
        // The file shrank under us (another reader cut it): what is left ends inside a record.
        if (fill() === 0) {
          out.damage = { kind: 'torn', offset: at, reason: 'file ends inside a record' };
          break;
        }
        continue;
      }
      const q = p + FRAME_HEADER;
      if (crc32(buf.subarray(q, q + len)) !== buf.readUInt32LE(p + 4)) {
        const last = at + FRAME_HEADER + len === fileBytes;
        out.damage = { kind: last ? 'torn' : 'corrupt', offset: at, reason: 'checksum mismatch' };
        break;
      }
      const shape = recordShapeError(buf, q, len);
      if (shape !== null) {
        out.damage = { kind: 'corrupt', offset: at, reason: shape };
        break;
      }
      const op = buf[q]!;
      if (op === OP_END) out.endCount = buf.readUInt32LE(q + 4) + buf.readUInt32LE(q + 8) * 2 ** 32;
      else visit(op, buf, q, len);
      out.records++;
      p = q + len;
      out.validBytes = filePos + p;
      if (onProgress && out.validBytes >= nextProgress) {
        onProgress(out.validBytes, fileBytes);
        nextProgress += 64 * 1024 * 1024;
      }
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** True when the file holds only zero bytes from `from` to its end. */
function zeroTail(fd: number, from: number, fileBytes: number): boolean {
  const b = Buffer.allocUnsafe(64 * 1024);
  for (let pos = from; pos < fileBytes; ) {
    const n = readSync(fd, b, 0, Math.min(b.length, fileBytes - pos), pos);
    if (n <= 0) return true;
    for (let i = 0; i < n; i++) if (b[i] !== 0) return false;
    pos += n;
  }
  return true;
}
