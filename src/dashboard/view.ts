// What every view is to the shell: a root element, and start/stop of its own refreshing, which
// runs only while the view is shown (a hidden tab polls nothing).

import { errorBox } from './dom.js';

export interface View {
  readonly id: string;
  readonly title: string;
  readonly root: HTMLElement;
  start(): void;
  stop(): void;
}

/** Runs `tick` now and then every `periodMs` while started; a tick never overlaps the previous
 * one (a slow node is polled less often, not piled up on). Errors show in `errorSlot`. */
export class Poller {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;

  constructor(
    private readonly periodMs: number,
    private readonly tick: () => Promise<void>,
    private readonly errorSlot: HTMLElement,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Runs a tick at once (after a user action), keeping the schedule. */
  async now(): Promise<void> {
    await this.runTick();
  }

  private async runTick(): Promise<void> {
    try {
      await this.tick();
      this.errorSlot.replaceChildren();
    } catch (e) {
      this.errorSlot.replaceChildren(errorBox(e));
    }
  }

  private async loop(): Promise<void> {
    if (!this.running) return;
    await this.runTick();
    if (this.running) this.timer = setTimeout(() => void this.loop(), this.periodMs);
  }
}
