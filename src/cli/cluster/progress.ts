// Progress of slot moves: a redrawn bar on stderr when stderr is a terminal (one bar per slot being
// moved, with the overall count), plain lines on stdout otherwise so that logs stay readable.
// Also keeps the totals for the closing summary (slots, keys, keys/s).

import { performance } from 'node:perf_hooks';

const BAR_WIDTH = 30;
/** Redraws of the bar are at most this often; the final state is always drawn. */
const REDRAW_INTERVAL_MS = 100;

export interface MoveProgress {
  /** A slot starts moving; `keys` is its key count when known. */
  slotStarted(slot: number, from: string, to: string, keys: number | null): void;
  /** Keys of the current slot moved so far. */
  slotAdvanced(movedKeys: number): void;
  slotDone(slot: number, movedKeys: number): void;
  /** Ends the bar and returns the summary line. */
  finish(): string;
}

export interface ProgressSink {
  isTTY?: boolean;
  write(text: string): unknown;
}

export function createProgress(totalSlots: number, tty: ProgressSink = process.stderr, plain: ProgressSink = process.stdout): MoveProgress {
  const started = performance.now();
  const useBar = tty.isTTY === true;
  let slotsDone = 0;
  let keysDone = 0;
  let current: { slot: number; from: string; to: string; keys: number | null; moved: number } | null = null;
  let lastDrawMs = 0;

  const draw = (force: boolean): void => {
    if (!useBar || current === null) return;
    const now = performance.now();
    if (!force && now - lastDrawMs < REDRAW_INTERVAL_MS) return;
    lastDrawMs = now;
    const frac = current.keys === null || current.keys === 0 ? (force ? 1 : 0) : Math.min(1, current.moved / current.keys);
    const filled = Math.round(frac * BAR_WIDTH);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}`;
    const keys = current.keys === null ? `${current.moved} keys` : `${current.moved}/${current.keys} keys`;
    tty.write(`\r\x1b[K[${bar}] slot ${current.slot} ${current.from} -> ${current.to} ${keys} (${slotsDone + 1}/${totalSlots})`);
  };

  return {
    slotStarted(slot, from, to, keys) {
      current = { slot, from, to, keys, moved: 0 };
      draw(true);
    },
    slotAdvanced(movedKeys) {
      if (current === null) return;
      current.moved = movedKeys;
      draw(false);
    },
    slotDone(slot, movedKeys) {
      if (current !== null) current.moved = movedKeys;
      draw(true);
      slotsDone++;
      keysDone += movedKeys;
      if (!useBar && current !== null) {
        plain.write(`Moved slot ${slot} from ${current.from} to ${current.to}: ${movedKeys} key${movedKeys === 1 ? '' : 's'} (${slotsDone}/${totalSlots})\n`);
      }
      current = null;
    },
    finish() {
      if (useBar && slotsDone > 0) tty.write('\n');
      const seconds = (performance.now() - started) / 1000;
      const rate = seconds > 0 ? Math.round(keysDone / seconds) : keysDone;
      return `Moved ${slotsDone} slot${slotsDone === 1 ? '' : 's'} and ${keysDone} key${keysDone === 1 ? '' : 's'} in ${seconds.toFixed(1)} s (${rate} keys/s)`;
    },
  };
}
