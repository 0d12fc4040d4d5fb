// Slow log and events: SLOWLOG entries (arguments as the node redacted them) and the node's
// event timeline (failovers, slot migrations, shard restarts, saves), newest first.

import { get } from '../api.js';
import { errorBox, fill, h, table } from '../dom.js';
import * as f from '../format.js';
import type { EventEntry, SlowlogEntry } from '../types.js';
import { PolledView } from '../view.js';

const PERIOD_MS = 3000;
const SLOWLOG_COUNT = 50;
/** Events kept on the page; older ones drop off. */
const EVENTS_MAX = 500;
/** Longest command line shown in the table (the full one is in the cell's title). */
const ARGS_CHARS_MAX = 200;

export class LogsPanel extends PolledView {
  readonly id = 'logs';
  readonly title = 'Slow log & events';
  private readonly slow = h('div', { id: 'slowlog' });
  private readonly events = h('div', { id: 'events' });
  private lastEventId = 0;
  private eventList: EventEntry[] = [];

  constructor() {
    super(PERIOD_MS);
    this.mount(h('h2', {}, 'Slow log'), this.slow, h('h2', {}, 'Events'), this.events);
  }

  protected async refresh(): Promise<void> {
    // Each section on its own: a slow log this user may not read leaves the events shown.
    const [slow, events] = await Promise.allSettled([
      get<SlowlogEntry[]>(`/v1/slowlog?count=${SLOWLOG_COUNT}`),
      get<EventEntry[]>(`/v1/events?since=${this.lastEventId}`),
    ]);
    if (slow.status === 'fulfilled') this.showSlowlog(slow.value);
    else fill(this.slow, errorBox(slow.reason));
    if (events.status === 'fulfilled') this.showEvents(events.value);
    else fill(this.events, errorBox(events.reason));
  }

  private showSlowlog(slow: SlowlogEntry[]): void {
    fill(
      this.slow,
      table(['Id', 'Time', 'Duration', 'Command', 'Client', 'Name'], slow, (e) => {
        const line = e.args.join(' ');
        return [String(e.id), f.time(e.time), f.micros(e.durationUs), h('code', { title: line }, line.length > ARGS_CHARS_MAX ? `${line.slice(0, ARGS_CHARS_MAX)}…` : line), e.client, e.clientName || '–'];
      }, 'no slow commands'),
    );
  }

  private showEvents(events: EventEntry[]): void {
    for (const e of events) if (e.id > this.lastEventId) this.eventList.unshift(e);
    if (this.eventList.length > EVENTS_MAX) this.eventList.length = EVENTS_MAX;
    this.lastEventId = this.eventList[0]?.id ?? this.lastEventId;
    fill(
      this.events,
      h('ol', { class: 'timeline' }, ...this.eventList.map((e) => h('li', { class: `event event-${e.kind}` }, h('time', {}, f.time(e.time)), h('span', { class: 'badge' }, e.kind), h('span', {}, e.detail)))),
      this.eventList.length === 0 ? h('p', { class: 'muted' }, 'no events yet') : null,
    );
  }
}
