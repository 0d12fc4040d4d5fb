// The shape of one `tessera cluster` subcommand: its flags as data, its help, and a run function
// that returns the exit code (0 ok, 1 failed / not ok). Usage problems are thrown as UsageErrors.

import type { AdminPool } from './admin-client.js';
import type { FlagSpec, ParsedArgs } from './args.js';

export interface ClusterCommand {
  name: string;
  summary: string;
  usage: string;
  /** Lines after the usage line in `--help`: what it does and its options. */
  details: readonly string[];
  flags: FlagSpec;
  /** Accepts `-- ARGS...` (passed on in ParsedArgs.rest). */
  allowRest?: boolean;
  run(args: ParsedArgs, pool: AdminPool): Promise<number>;
}
