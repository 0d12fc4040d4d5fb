// ACL LOG: denied commands, keys, channels and failed logins, newest first, at most
// acllog-max-len entries. Entries equal in reason, context, object and username within 60 s of
// each other are one entry with a count (Redis's ACLLogMatchEntry, searching the newest 10).

import type { AclContext } from '../core/acl.js';

export type AclLogReason = 'command' | 'key' | 'channel' | 'auth';

export interface AclLogEntry {
  count: number;
  readonly reason: AclLogReason;
  readonly context: AclContext;
  readonly object: string;
  readonly username: string;
  ctimeMs: number;
  clientInfo: string;
}

const GROUPING_MAX_DELTA_MS = 60_000;
const GROUPING_SEARCH_MAX = 10;

export class AclLog {
  /** Newest first. */
  readonly entries: AclLogEntry[] = [];
  maxLen = 128;

  add(reason: AclLogReason, context: AclContext, object: string, username: string, clientInfo: string, nowMs = Date.now()): void {
    const n = Math.min(this.entries.length, GROUPING_SEARCH_MAX);
    for (let i = 0; i < n; i++) {
      const e = this.entries[i]!;
      if (e.reason === reason && e.context === context && e.object === object && e.username === username && nowMs - e.ctimeMs <= GROUPING_MAX_DELTA_MS) {
        e.count++;
        e.ctimeMs = nowMs;
        e.clientInfo = clientInfo;
        this.entries.splice(i, 1);
        this.entries.unshift(e);
        return;
      }
    }
    this.entries.unshift({ count: 1, reason, context, object, username, ctimeMs: nowMs, clientInfo });
    this.trim();
  }

  trim(): void {
    if (this.entries.length > this.maxLen) this.entries.length = this.maxLen;
  }

  reset(): void {
    this.entries.length = 0;
  }
}
