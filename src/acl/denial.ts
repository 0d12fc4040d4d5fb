// The refusal of a command as the client sees it (Redis 7.0's NOPERM texts) and as ACL LOG and
// ACL DRYRUN name it.

import type { AclDenial } from '../core/acl.js';
import type { ArgList } from '../core/types.js';
import type { AclCommand } from './catalogue.js';
import { DENIED_CHANNEL, DENIED_CMD, DENIED_KEY } from './check.js';

/** The reply and ACL LOG object of a refusal (Redis 7.0's processCommand texts). */
export function denialOfBytes(r: number, cmd: AclCommand, a: ArgList, arg: number): AclDenial {
  if (r === DENIED_CMD) {
    return { reason: 'command', object: cmd.fullname, error: `NOPERM this user has no permissions to run the '${cmd.fullname}' command` };
  }
  const object = Buffer.from(a.buf.subarray(a.off[arg]!, a.off[arg]! + a.len[arg]!)).toString('latin1');
  if (r === DENIED_KEY) return { reason: 'key', object, error: 'NOPERM this user has no permissions to access one of the keys used as arguments' };
  if (r === DENIED_CHANNEL) return { reason: 'channel', object, error: 'NOPERM this user has no permissions to access one of the channels used as arguments' };
  return { reason: 'command', object: cmd.fullname, error: 'NOPERM no permission' };
}

/** ACL DRYRUN's texts (Redis's getAclErrorMessage, verbose). */
export function dryrunText(d: AclDenial): string {
  if (d.reason === 'command') return `This user has no permissions to run the '${d.object}' command`;
  if (d.reason === 'key') return `This user has no permissions to access the '${d.object}' key`;
  return `This user has no permissions to access the '${d.object}' channel`;
}
