// Where the cluster subcommands write: results and the running log on stdout, problems on stderr;
// the confirmation prompt; and polling with a deadline (never a fixed sleep).

import { createInterface } from 'node:readline';
import { OperationError, UsageError } from './errors.js';

export function out(line: string): void {
  process.stdout.write(line.endsWith('\n') ? line : `${line}\n`);
}

export function err(line: string): void {
  process.stderr.write(line.endsWith('\n') ? line : `${line}\n`);
}

/** Fails early (UsageError) when a prompt would be needed but stdin is not a terminal. */
export function requireYesOrTerminal(assumeYes: boolean): void {
  if (!assumeYes && process.stdin.isTTY !== true) throw new UsageError('stdin is not a terminal: pass --yes to go ahead without a prompt');
}

/**
 * Asks `question` on the terminal and resolves true only for "yes". With `assumeYes` it does not
 * ask; when stdin is not a terminal it refuses (UsageError) so a script never hangs on a prompt.
 */
export async function confirm(question: string, assumeYes: boolean): Promise<boolean> {
  if (assumeYes) return true;
  requireYesOrTerminal(false);
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(`${question} `, resolve));
    return answer.trim() === 'yes';
  } finally {
    rl.close();
  }
}

/**
 * Calls `check` every `intervalMs` until it returns true, or throws an OperationError naming `what`
 * after `deadlineMs` (with the last problem `check` reported through `note`). `onWait` runs once
 * per unsuccessful poll (e.g. to print a dot).
 */
export async function pollUntil(
  what: string,
  check: (note: (problem: string) => void) => Promise<boolean>,
  deadlineMs: number,
  intervalMs = 250,
  onWait?: () => void,
): Promise<void> {
  const end = Date.now() + deadlineMs;
  let last = '';
  const note = (problem: string): void => {
    last = problem;
  };
  for (;;) {
    try {
      if (await check(note)) return;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() >= end) throw new OperationError(`timed out after ${deadlineMs} ms waiting for ${what}${last ? ` (${last})` : ''}`);
    onWait?.();
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
