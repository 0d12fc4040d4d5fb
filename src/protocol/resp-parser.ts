// Resumable RESP request parser (multibulk and inline), with Redis's limits and error texts.
// Knows nothing of the server. SKELETON: filled in by the parser implementation.

export interface ParserLimits {
  /** proto-max-bulk-len: largest bulk argument, bytes (Redis default 512 MiB). */
  maxBulkLen: number;
  /** Largest multibulk count (Redis: 1024*1024*1024 for authenticated, 10 for unauthenticated clients is NOT done here). */
  maxMultibulkLen: number;
  /** Largest inline request line, bytes (Redis PROTO_INLINE_MAX_SIZE = 64 KiB). */
  maxInlineLen: number;
  /** client-query-buffer-limit: most bytes buffered for one unfinished command (Redis default 1 GiB). */
  maxQueryBufferLen: number;
}

export const PARSE_NEED_MORE = 0;
export const PARSE_COMMAND = 1;
export const PARSE_ERROR = -1;

export class RespParser {
  /** After PARSE_COMMAND: number of arguments, and each one's offset and length inside `buf`. */
  argc = 0;
  argOff: Int32Array = new Int32Array(16);
  argLen: Int32Array = new Int32Array(16);
  /** The bytes the current command's offsets refer to; valid until the next feed()/next(). */
  buf: Buffer = Buffer.alloc(0);
  /** After PARSE_ERROR: Redis's error text without the leading '-' and trailing CRLF,
   * e.g. "ERR Protocol error: invalid multibulk length". */
  error = '';
  /** True when the current/last command came in inline form. */
  inline = false;

  constructor(readonly limits: ParserLimits) {}

  /** Appends received bytes. */
  feed(chunk: Buffer): void { void chunk; }
  /** Parses the next whole command. */
  next(): number { return PARSE_NEED_MORE; }
  /** Bytes received and not yet consumed by a returned command (for CLIENT LIST qbuf). */
  pending(): number { return 0; }
}
