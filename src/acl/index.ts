// The ACL's entry points for the rest of the server: the user table (Acl), the shard-side
// permission check (serialisePermissions / permissionsFromBytes), the aclfile.

export { Acl, AclRuleError, dryrunText } from './acl.js';
export { serialisePermissions, permissionsFromBytes, setPermissionsCatalogue, type Permissions } from './permissions-bytes.js';
export { loadAclFile, saveAclFile, aclfilePath } from './acl-file.js';
export type { AclCatalogue, AclCommand } from './catalogue.js';
export type { User } from './user.js';
