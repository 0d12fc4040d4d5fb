// Every error reply Tessera sends, with Redis 7's exact wording (without '-' and CRLF).
// Handlers use these constants or the builders; nothing else spells an error text.

export const ERR = {
  syntax: 'ERR syntax error',
  notInteger: 'ERR value is not an integer or out of range',
  notFloat: 'ERR value is not a valid float',
  overflow: 'ERR increment or decrement would overflow',
  nanOrInf: 'ERR increment would produce NaN or Infinity',
  // hashes
  hashNotInteger: 'ERR hash value is not an integer',
  hashNotFloat: 'ERR hash value is not a float',
  valueNanOrInf: 'ERR value is NaN or Infinity',
  valueOutOfRange: 'ERR value is out of range',
  valueOutOfRangeBetween: (min: string, max: string): string => `ERR value is out of range, value must between ${min} and ${max}`,
  wrongType: 'WRONGTYPE Operation against a key holding the wrong kind of value',
  noSuchKey: 'ERR no such key',
  invalidExpire: (cmd: string): string => `ERR invalid expire time in '${cmd}' command`,
  noAuth: 'NOAUTH Authentication required.',
  loading: 'LOADING Redis is loading the dataset in memory',
  wrongPass: 'WRONGPASS invalid username-password pair or user is disabled.',
  authNoPassword:
    'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
  oom: "OOM command not allowed when used memory > 'maxmemory'.",
  dbIndexOutOfRange: 'ERR DB index is out of range',
  selectNotAllowed: 'ERR SELECT is not allowed in cluster mode',
  stringTooLong: 'ERR string exceeds maximum allowed size (proto-max-bulk-len)',
  offsetOutOfRange: 'ERR offset is out of range',
  unknownCommand: (name: string, args: string): string =>
    `ERR unknown command '${name}', with args beginning with: ${args}`,
  unknownSubcommand: (sub: string, cmd: string): string =>
    `ERR unknown subcommand '${sub}'. Try ${cmd} HELP.`,
  wrongArity: (name: string): string => `ERR wrong number of arguments for '${name}' command`,
  nxXxGtLt: 'ERR NX and XX, GT or LT options at the same time are not compatible',
  gtAndLt: 'ERR GT and LT options at the same time are not compatible',
  unsupportedOption: (opt: string): string => `ERR Unsupported option ${opt}`,
  sameObject: 'ERR source and destination objects are the same',
  invalidCursor: 'ERR invalid cursor',
  protoVersion: 'NOPROTO unsupported protocol version',
  maxClients: 'ERR max number of clients reached',
  shardCrashed: (shard: number): string =>
    `ERR shard ${shard} crashed while running this command; it was restarted with its data, retry the command`,
  debugNotAllowed:
    'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.',
  clientNoSuchClient: 'ERR No such client',
  unblockedByClient: 'UNBLOCKED client unblocked via CLIENT UNBLOCK',
  unblockedRoleChange: 'UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)',
  unblockedShardRestart: (shard: number): string =>
    `UNBLOCKED shard ${shard} serving a key this client was blocked on crashed and was restarted; retry the command`,
  timeoutNotFloat: 'ERR timeout is not a float or out of range',
  timeoutNegative: 'ERR timeout is negative',
  timeoutOutOfRange: 'ERR timeout is out of range',
  tooManyBlocked: 'ERR too many blocked clients',
  clientNameSpaces: 'ERR Client names cannot contain spaces, newlines or special characters.',
  lfuNotSelected:
    'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
  lruNotSelected:
    'ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
  countPositive: 'ERR value is out of range, must be positive',
  valueBetween: (min: string, max: string): string => `ERR value is out of range, value must between ${min} and ${max}`,
  numkeysPositive: 'ERR numkeys should be greater than 0',
  numkeysOverArgs: "ERR Number of keys can't be greater than number of args",
  limitNegative: "ERR LIMIT can't be negative",
  shuttingDown: 'ERR Errors trying to SHUTDOWN. Check logs.',
  // cluster
  clusterDisabled: 'ERR This instance has cluster support disabled',
  crossSlot: "CROSSSLOT Keys in request don't hash to the same slot",
  moved: (slot: number, addr: string): string => `MOVED ${slot} ${addr}`,
  ask: (slot: number, addr: string): string => `ASK ${slot} ${addr}`,
  tryAgain: 'TRYAGAIN Multiple keys request during rehashing of slot',
  clusterDownUnbound: 'CLUSTERDOWN Hash slot not served',
  clusterDown: 'CLUSTERDOWN The cluster is down',
  invalidSlot: 'ERR Invalid slot',
  invalidSlotOrRange: 'ERR Invalid or out of range slot',
  invalidSlotOrCount: 'ERR Invalid slot or number of keys',
  slotTwice: (slot: number): string => `ERR Slot ${slot} specified multiple times`,
  slotRangeOrder: (a: number, b: number): string => `ERR start slot number ${a} is greater than end slot number ${b}`,
  setslotSyntax: 'ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP',
  invalidBasePort: (p: string): string => `ERR Invalid TCP base port specified: ${p}`,
  invalidBusPort: (p: string): string => `ERR Invalid TCP bus port specified: ${p}`,
  resetWithKeys: "ERR CLUSTER RESET can't be called with master nodes containing keys",
  flushslotsNotEmpty: 'ERR DB must be empty to perform CLUSTER FLUSHSLOTS.',
  invalidConfigEpoch: (e: string): string => `ERR Invalid config epoch specified: ${e}`,
  busyKey: 'BUSYKEY Target key name already exists.',
  badPayload: 'ERR DUMP payload version or checksum are wrong',
  badDataFormat: 'ERR Bad data format',
  invalidTtl: 'ERR Invalid TTL value, must be >= 0',
  invalidIdletime: 'ERR Invalid IDLETIME value, must be >= 0',
  invalidFreq: 'ERR Invalid FREQ value, must be >= 0 and <= 255',
  migrateKeysEmpty: 'ERR When using MIGRATE KEYS option, the key argument must be set to the empty string',
  migrateTarget: (e: string): string => `ERR Target instance replied with error: ${e}`,
  migrateIo: (what: string): string => `IOERR error or timeout ${what} target instance`,
  // SORT (redis-server 7.0 refuses every BY pattern and GET in cluster mode; 7.2 allows same-slot ones)
  sortScores: "ERR One or more scores can't be converted into double",
  sortByCluster: 'ERR BY option of SORT denied in Cluster mode.',
  sortGetCluster: 'ERR GET option of SORT denied in Cluster mode.',
  // lists
  indexOutOfRange: 'ERR index out of range',
  countAboveZero: 'ERR count should be greater than 0',
  rankZero: "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
  lposCountNegative: "ERR COUNT can't be negative",
  maxlenNegative: "ERR MAXLEN can't be negative",
  // sorted sets
  zaddNxXx: 'ERR XX and NX options at the same time are not compatible',
  zaddGtLtNx: 'ERR GT, LT, and/or NX options at the same time are not compatible',
  zaddIncrPair: 'ERR INCR option supports a single increment-element pair',
  zaddNan: 'ERR resulting score is not a number (NaN)',
  minMaxNotFloat: 'ERR min or max is not a float',
  minMaxNotLex: 'ERR min or max not valid string range item',
  zrangeLimitRank: 'ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX',
  zrangeWithscoresLex: 'ERR syntax error, WITHSCORES not supported in combination with BYLEX',
  weightNotFloat: 'ERR weight value is not a float',
  atLeastOneKey: (cmd: string): string => `ERR at least 1 input key is needed for '${cmd}' command`,
  // transactions
  multiNested: 'ERR MULTI calls can not be nested',
  watchInMulti: 'ERR WATCH inside MULTI is not allowed',
  execWithoutMulti: 'ERR EXEC without MULTI',
  discardWithoutMulti: 'ERR DISCARD without MULTI',
  notInMulti: 'ERR Command not allowed inside a transaction',
  execAbort: 'EXECABORT Transaction discarded because of previous errors.',
  // pub/sub
  subscribeContext: (cmd: string): string =>
    `ERR Can't execute '${cmd}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
  subcommandSyntax: (sub: string, cmd: string): string =>
    `ERR unknown subcommand or wrong number of arguments for '${sub}'. Try ${cmd} HELP.`,
  geoDecodeMember: 'ERR could not decode requested zset member',
  geoCountPositive: 'ERR COUNT must be > 0',
  geoNeedRadius: 'ERR need numeric radius',
  geoNeedWidth: 'ERR need numeric width',
  geoNeedHeight: 'ERR need numeric height',
  geoRadiusNegative: 'ERR radius cannot be negative',
  geoBoxNegative: 'ERR height or width cannot be negative',
  geoUnit: 'ERR unsupported unit provided. please use M, KM, FT, MI',
  geoAnyCount: 'ERR the ANY argument requires COUNT argument',
  geoStoreWith: (what: string): string => `ERR ${what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options`,
  geoFromOne: (cmd: string): string => `ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ${cmd}`,
  geoByOne: (cmd: string): string => `ERR exactly one of BYRADIUS and BYBOX can be specified for ${cmd}`,
  geoBadPair: (lon: string, lat: string): string => `ERR invalid longitude,latitude pair ${lon},${lat}`,
  bitOffset: 'ERR bit offset is not an integer or out of range',
  bitValue: 'ERR bit is not an integer or out of range',
  bitposBit: 'ERR The bit argument must be 1 or 0.',
  bitopNot: 'ERR BITOP NOT must be called with a single source key.',
  bitfieldType: 'ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.',
  bitfieldRo: 'ERR BITFIELD_RO only supports the GET subcommand',
  bitfieldOverflow: 'ERR Invalid OVERFLOW type specified',
  lcsNotString: 'ERR The specified keys must contain string values',
  lcsIdxAndLen: 'ERR If you want both the length and indexes, please just use IDX.',
  lcsTooBig: 'ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len',
  // numbered databases
  moveInCluster: 'ERR MOVE is not allowed in cluster mode',
  swapdbInCluster: 'ERR SWAPDB is not allowed in cluster mode',
  copyDbInCluster: 'ERR Copying to another database is not allowed in cluster mode',
  invalidFirstDb: 'ERR invalid first DB index',
  invalidSecondDb: 'ERR invalid second DB index',
  // CLIENT PAUSE and MONITOR (server/client-pause.ts, server/monitor.ts): Redis 7.0.15's texts.
  pauseTimeoutNotInteger: 'ERR timeout is not an integer or out of range',
  pauseTimeoutNegative: 'ERR timeout is negative',
  pauseMode: 'ERR CLIENT PAUSE mode must be WRITE or ALL',
  replicaKeyspace: "ERR Replica can't interact with the keyspace",
  monitorDenyBlocking: "ERR MONITOR isn't allowed for DENY BLOCKING client",
} as const;

/** Thrown by a main-thread handler to answer with this exact error reply (no '-', no CRLF). */
export class ReplyError extends Error {
  constructor(readonly reply: string) {
    super(reply);
  }
}

/** A shard's reply to a coordinator's call, or a ReplyError carrying the shard's error (a crashed
 * shard, OOM), so that a half-done operation stops instead of writing what it did not get. */
export function shardOk(r: Buffer): Buffer {
  if (r[0] === 45) throw new ReplyError(r.toString('latin1', 1, r.length - 2));
  return r;
}

/** Scripts and functions (EVAL, SCRIPT, FUNCTION, FCALL, redis.call from a script). */
export const SCRIPT_ERR = {
  noScript: 'NOSCRIPT No matching script. Please use EVAL.',
  busyEval: 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.',
  busyFunction: 'BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.',
  notBusy: 'NOTBUSY No scripts in execution right now.',
  unkillable:
    'UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.',
  unknownCommand: 'ERR Unknown Redis command called from script',
  wrongArgs: 'ERR Wrong number of args calling Redis command from script',
  notAllowed: 'ERR This Redis command is not allowed from script',
  writeFromReadOnly: 'ERR Write commands are not allowed from read-only scripts.',
  writeFlagRo: 'ERR Can not execute a script with write flag using *_ro command.',
  noCluster: "ERR Can not run script on cluster, 'no-cluster' flag is set.",
  otherShard:
    "ERR Script attempted to access a key of another shard: declare every key a script uses in its KEYS (a script runs in the shard that owns its keys)",
  keysNegative: "ERR Number of keys can't be negative",
  keysTooMany: "ERR Number of keys can't be greater than number of args",
  badNumKeys: 'ERR Bad number of keys provided',
  functionNotFound: 'ERR Function not found',
  libraryNotFound: 'ERR Library not found',
  libraryExistsRestore: (name: string): string => `ERR Library ${name} already exists`,
  badDump: 'ERR DUMP payload version or checksum are wrong',
  badRestorePolicy: 'ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.',
  scriptFlushOption: 'ERR SCRIPT FLUSH only support SYNC|ASYNC option',
  functionFlushOption: 'ERR FUNCTION FLUSH only supports SYNC|ASYNC option',
  unknownArgument: (arg: string): string => `ERR Unknown argument ${arg}`,
  libraryNameMissing: 'ERR library name argument was not given',
  noEngine: 'ERR scripting is not available on this shard',
  scriptDebugUnsupported: 'ERR SCRIPT DEBUG is not supported',
  readOnlyReplica: "READONLY You can't write against a read only replica.",
  callSpansShards: 'ERR a command called from a script whose keys span shards must keep its own keys on one shard',
  shardNoReply: 'ERR the shard did not answer the script in time (restarting?)',
} as const;

/** HyperLogLog (PFADD, PFCOUNT, PFMERGE): Redis's texts. */
export const HLL_ERR = {
  notHll: 'WRONGTYPE Key is not a valid HyperLogLog string value.',
  invalid: 'INVALIDOBJ Corrupted HLL object detected',
} as const;

/** COMMAND GETKEYS / GETKEYSANDFLAGS and PFSELFTEST: Redis's texts. */
export const COMMAND_ERR = {
  invalidCommand: 'ERR Invalid command specified',
  noKeyArguments: 'ERR The command has no key arguments',
  invalidArgCount: 'ERR Invalid number of arguments specified for command',
  invalidArgs: 'ERR Invalid arguments specified for command',
  hllRegister: (i: number): string => `TESTFAILED Register error at ${i}`,
  hllSparseUnused: 'TESTFAILED sparse encoding not used',
  hllDisagree: 'TESTFAILED dense/sparse disagree',
  hllTooBigError: (card: number, abserr: number): string => `TESTFAILED Too big error. card:${card} abserr:${abserr}`,
  /** Tessera's own checks (Redis would assert). */
  hllConversion: 'TESTFAILED dense conversion',
  hllCorrupted: 'TESTFAILED corrupted value',
} as const;

/** Streams (XADD, XRANGE, XREAD, XTRIM, XSETID...): Redis 7.0's texts. */
export const STREAM_ERR = {
  invalidId: 'ERR Invalid stream ID specified as stream command argument',
  invalidStart: 'ERR invalid start ID for the interval',
  invalidEnd: 'ERR invalid end ID for the interval',
  xaddZeroId: 'ERR The ID specified in XADD must be greater than 0-0',
  xaddTooSmall: 'ERR The ID specified in XADD is equal or smaller than the target stream top item',
  exhausted: 'ERR The stream has exhausted the last possible ID, unable to add more items',
  maxlenAndMinid: 'ERR syntax error, MAXLEN and MINID options at the same time are not compatible',
  maxlenNegative: 'ERR The MAXLEN argument must be >= 0.',
  limitNegative: 'ERR The LIMIT argument must be >= 0.',
  limitWithoutStrategy: 'ERR syntax error, LIMIT cannot be used without specifying a trimming strategy',
  xtrimWithoutStrategy: 'ERR syntax error, XTRIM must be called with a trimming strategy',
  limitWithoutApprox: 'ERR syntax error, LIMIT cannot be used without the special ~ option',
  entriesAddedNegative: 'ERR entries_added must be positive',
  xsetidBelowMaxDeleted: 'ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id',
  xsetidBelowTop: 'ERR The ID specified in XSETID is smaller than the target stream top item',
  xsetidEntriesAdded: 'ERR The entries_added specified in XSETID is smaller than the target stream length',
  timeoutNotInteger: 'ERR timeout is not an integer or out of range',
  timeoutNegative: 'ERR timeout is negative',
  unbalanced: (cmd: string, symbol: string): string => `ERR Unbalanced ${cmd} list of streams: for each stream key an ID or '${symbol}' must be specified.`,
  groupOnXread: 'ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.',
  noackOnXread: 'ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.',
  gtOnXread: 'ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.',
} as const;

/** Stream consumer groups (XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM): Redis's texts. */
export const XGROUP_ERR = {
  invalidId: 'ERR Invalid stream ID specified as stream command argument',
  invalidStart: 'ERR invalid start ID for the interval',
  invalidEnd: 'ERR invalid end ID for the interval',
  entriesRead: 'ERR value for ENTRIESREAD must be positive or -1',
  subcommandSyntax: (sub: string): string => `ERR unknown subcommand or wrong number of arguments for '${sub.slice(0, 128)}'. Try XGROUP HELP.`,
  keyMustExist:
    'ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.',
  noGroup: (group: string, key: string): string => `NOGROUP No such consumer group '${group}' for key name '${key}'`,
  noGroupKey: (key: string, group: string): string => `NOGROUP No such key '${key}' or consumer group '${group}'`,
  noGroupRead: (key: string, group: string): string => `NOGROUP No such key '${key}' or consumer group '${group}' in XREADGROUP with GROUP option`,
  busyGroup: 'BUSYGROUP Consumer Group name already exists',
  timeoutNotInteger: 'ERR timeout is not an integer or out of range',
  timeoutNegative: 'ERR timeout is negative',
  // 7.0's text names XREAD and '$' for XREADGROUP too.
  unbalanced: "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
  missingGroup: 'ERR Missing GROUP option for XREADGROUP',
  dollarInGroup:
    'ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.',
  claimMinIdle: 'ERR Invalid min-idle-time argument for XCLAIM',
  claimOption: (opt: string): string => `ERR Invalid ${opt} option argument for XCLAIM`,
  claimUnknown: (opt: string): string => `ERR Unrecognized XCLAIM option '${opt}'`,
  autoclaimMinIdle: 'ERR Invalid min-idle-time argument for XAUTOCLAIM',
  autoclaimCount: 'ERR COUNT must be > 0',
} as const;

/** ACL inside transactions and scripts (issue 18, aclpaths): redis-server 7.0's texts. */
export const ACL_PATH_ERR = {
  /** A queued command that the user may no longer run at EXEC (its slot in EXEC's reply). */
  changedInMulti: (reason: 'command' | 'key' | 'channel'): string =>
    `NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: ${
      reason === 'command' ? 'no permission to execute the command or subcommand' : reason === 'key' ? 'no permission to touch the specified keys' : 'no permission to access one of the channels used as arguments'
    }`,
  /** redis.call / redis.pcall denied to the script's caller. */
  scriptCommand: "ERR The user executing the script can't run this command or subcommand",
  scriptKey: "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments",
  scriptChannel: "ERR The user executing the script can't publish to the channel mentioned in the command",
} as const;

/** Protected mode and Tessera's own client limits (src/server/guard.ts, docs/security-guard.md). */
export const GUARD_ERR = {
  /** Redis 7.0.15's text, byte for byte (its typo included), without the leading '-'. */
  protectedMode:
    "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.",
  opsLimit: (perSec: number, who: string): string => `LIMIT request rate limit of ${perSec}/s exceeded for ${who}`,
  connectionRate: (perSec: number): string => `ERR max-new-connections-per-sec (${perSec}) reached for this address`,
  userMaxClients: (user: string, max: number): string => `ERR max number of clients reached for user '${user}' (maxclients=${max})`,
} as const;

/** SLOWLOG and LATENCY (issue 19, slowlog): redis-server 7.0.15's texts. */
export const OBSERVABILITY_ERR = {
  slowlogCount: 'ERR count should be greater than or equal to -1',
  latencyNoSamples: (event: string): string => `ERR No samples available for event '${event}'`,
} as const;
