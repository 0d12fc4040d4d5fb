// What every view is to the shell: a root element, and start/stop of its own refreshing, which
// runs only while the view is shown (a hidden tab polls nothing).

import { errorBox, h, type Child } from './dom.js';

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

/** A view refreshed by one Poller, its section opening with the poller's error slot. A subclass
 * calls mount() in its constructor once its own elements exist (field initialisers run after
 * super(), so they cannot be handed to it). */
export abstract class PolledView implements View {
  abstract readonly id: string;
  abstract readonly title: string;
  /** Set by mount(), which every subclass constructor calls. */
  root!: HTMLElement;
  private poller: Poller | null = null;

  constructor(private readonly periodMs: number) {}

  protected mount(...children: Child[]): void {
    const errors = h('div');
    this.root = h('section', { id: `view-${this.id}` }, errors, ...children);
    this.poller = new Poller(this.periodMs, () => this.refresh(), errors);
  }

  start(): void {
    this.poller?.start();
  }

  stop(): void {
    this.poller?.stop();
  }

  protected abstract refresh(): Promise<void>;
}
