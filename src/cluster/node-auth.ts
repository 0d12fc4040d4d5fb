// How a node logs in to another node of its cluster on the links it opens as a client
// (forwarding, slot migration): as masteruser with masterauth when masterauth is set (the
// credentials a replica uses for its primary, as Redis uses them), else with requirepass (the
// nodes of a cluster share it; Tessera's behaviour before ACL users). Pure: values in, command out.

export interface NodeAuthValues {
  readonly masteruser: string;
  readonly masterauth: string;
  readonly requirepass: string;
}

/** The AUTH command a node sends first on a link to a peer, or null when none is needed. */
export function nodeAuthCommand(v: NodeAuthValues): string[] | null {
  if (v.masterauth !== '') return v.masteruser === '' ? ['AUTH', v.masterauth] : ['AUTH', v.masteruser, v.masterauth];
  if (v.requirepass !== '') return ['AUTH', v.requirepass];
  return null;
}

/** A pool variant naming the credentials, so that a link opened with old ones is not reused after
 * CONFIG SET changes them (the pool keeps it in memory only; it is never logged). */
export function nodeAuthVariant(auth: readonly string[] | null): string {
  return auth === null ? '' : auth.slice(1).join('\0');
}
