// The table of value types: per type number, how a shard makes its ValueKind (null: the value is
// all in its entry, as a string's) and how an image of it from outside is checked (null: any bytes
// are a valid string). The one place a new type is registered.
import { CollectionKind, hashImageError, setImageError } from './collection-kind.js';
import { ListKind, listImageError } from './list-kind.js';
import type { ValueKindFactory } from './value-kind.js';
import { StreamKind, streamImageError } from './stream-kind.js';
import { ZsetKind, zsetImageError } from './zset-kind.js';
import { TYPE_HASH, TYPE_SET } from './value-types.js';

export type ImageCheck = (buf: Uint8Array, off: number, len: number) => string | null;

interface TypeEntry {
  kind: ValueKindFactory | null;
  check: ImageCheck | null;
}

const NONE: TypeEntry = { kind: null, check: null };

export const VALUE_TYPES: readonly TypeEntry[] = [
  NONE, // string
  { kind: (arena) => new ListKind(arena), check: listImageError },
  { kind: (arena) => new CollectionKind(arena, TYPE_SET), check: setImageError },
  { kind: (arena) => new ZsetKind(arena), check: zsetImageError },
  { kind: (arena) => new CollectionKind(arena, TYPE_HASH), check: hashImageError },
  { kind: null, check: () => 'no value type 5 (Redis modules)' },
  { kind: (arena) => new StreamKind(arena), check: streamImageError },
];
