// Layout of the frames that cross the shard rings. Request (main -> shard): seq u32, command
// index u16, protocol u8, flags u8, argc u32, the client's database u32, the client's ACL user
// slot u32, then each argument as u32 length + bytes.
// Reply (shard -> main): seq u32, kind u32, then the encoded reply bytes.
// A frame too big for its ring travels whole over the side port; the ring carries a marker.

export const REQ_SEQ = 0;
export const REQ_CMD = 4;
export const REQ_PROTO = 6;
export const REQ_FLAGS = 7;
export const REQ_ARGC = 8;
/** The numbered database (SELECT) the command runs in; 0 for every door but RESP. */
export const REQ_DB = 12;
/** The ACL user a script's redis.call is checked for (commands/script-acl.ts): 0 for a client
 * whose user may run everything (nothing is checked), else the user's id + 1. */
export const REQ_USER = 16;
export const REQ_HEADER = 20;

export const REP_SEQ = 0;
export const REP_KIND = 4;
export const REP_HEADER = 8;

/** Request flag: the frame's bytes arrived over the side port. */
export const FLAG_OVERSIZE = 1;
export const REPLY_INLINE = 0;
export const REPLY_OVERSIZE = 1;
/** A reply to a blocked client, not to a request in the ring: REP_SEQ holds the client's wait
 * slot and the payload starts with the wait's generation (u32), then the reply bytes. It takes
 * no place in the request FIFO. The oversize form travels over the side port as the other does. */
export const REPLY_WAKE = 2;
export const REPLY_WAKE_OVERSIZE = 3;
export const WAKE_HEADER = 4;
/** Messages the shard published (ShardContext.publish, keyspace notifications), after the reply of
 * the command that published them: REP_SEQ holds the record count, the payload is records of
 * publish-queue.ts. No place in the request FIFO; one record too big for the ring travels alone
 * over the side port (the oversize form). */
export const REPLY_PUBLISH = 4;
export const REPLY_PUBLISH_OVERSIZE = 5;
/** Slow-command records (observability/slowlog.ts SlowRecords) of the command whose reply came
 * just before: REP_SEQ holds the record count. No place in the request FIFO. */
export const REPLY_SLOW = 6;

/** Default ring capacities (bytes, power of two). */
export const REQUEST_RING_BYTES = 1 << 22;
export const REPLY_RING_BYTES = 1 << 22;
