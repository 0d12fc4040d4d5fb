// Slow log and events: SLOWLOG entries (arguments as the node redacted them) and the node's
// event timeline (failovers, slot migrations, shard restarts, saves), newest first.

import { get } from '../api.js';
import { fill, h, table } from '../dom.js';
import * as f from '../format.js';
import type { EventEntry, SlowlogEntry } from '../types.js';
import { Poller, type View } from '../view.js';

const PERIOD_MS = 3000;
const SLOWLOG_COUNT = 50;
/** Events kept on the page; older ones drop off. */
const EVENTS_MAX = 500;
/** Longest command line shown in the table (the full one is in the cell's title). */
const ARGS_CHARS_MAX = 200;

export class LogsPanel implements View {
  readonly id = 'logs';
  readonly title = 'Slow log & events';
  readonly root: HTMLElement;
  private readonly slow = h('div', { id: 'slowlog' });
  private readonly events = h('div', { id: 'events' });
  private readonly poller: Poller;
  private lastEventId = -1;
  private eventList: EventEntry[] = [];

  constructor() {
    const errors = h('div');
    this.root = h('section', { id: 'view-logs' }, errors, h('h2', {}, 'Slow log'), this.slow, h('h2', {}, 'Events'), this.events);
    this.poller = new Poller(PERIOD_MS, () => this.refresh(), errors);
  }

  start(): void {
    this.poller.start();
  }

  stop(): void {
    this.poller.stop();
  }

  private async refresh(): Promise<void> {
    const [slow, events] = await Promise.all([
      get<SlowlogEntry[]>(`/v1/slowlog?count=${SLOWLOG_COUNT}`),
      get<EventEntry[]>(`/v1/events?since=${this.lastEventId}`),
    ]);
    fill(
      this.slow,
      table(['Id', 'Time', 'Duration', 'Command', 'Client', 'Name'], slow, (e) => {
        const line = e.args.join(' ');
        return [String(e.id), f.time(e.time), f.micros(e.durationUs), h('code', { title: line }, line.length > ARGS_CHARS_MAX ? `${line.slice(0, ARGS_CHARS_MAX)}…` : line), e.client, e.clientName || '–'];
      }, 'no slow commands'),
    );
    for (const e of events) if (e.id > this.lastEventId) this.eventList.unshift(e);
    if (this.eventList.length > EVENTS_MAX) this.eventList.length = EVENTS_MAX;
    this.lastEventId = this.eventList[0]?.id ?? this.lastEventId;
    fill(
      this.events,
      h('ol', { class: 'timeline' }, ...this.eventList.map((e) => h('li', { class: `event event-${e.kind}` }, h('time', {}, f.time(e.time)), h('span', { class: 'badge' }, e.kind), detailText(e.detail)))),
      this.eventList.length === 0 ? h('p', { class: 'muted' }, 'no events yet') : null,
    );
  }
}

function detailText(d: unknown): string {
  if (typeof d === 'string') return d;
  if (d === null || d === undefined) return '';
  return Object.entries(d as Record<string, unknown>)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
}
