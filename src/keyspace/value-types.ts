// Value types, numbered as Redis's OBJ_* (the 4 type bits of an entry's E_META), and TYPE's names.
export const TYPE_STRING = 0;
export const TYPE_LIST = 1;
export const TYPE_SET = 2;
export const TYPE_ZSET = 3;
export const TYPE_HASH = 4;
/** Redis's OBJ_STREAM (5 is OBJ_MODULE, which Tessera has not). */
export const TYPE_STREAM = 6;
export type ValueType = 0 | 1 | 2 | 3 | 4 | 6;
/** TYPE's reply per type. */
export const TYPE_NAMES: readonly string[] = ['string', 'list', 'set', 'zset', 'hash', 'module', 'stream'];
