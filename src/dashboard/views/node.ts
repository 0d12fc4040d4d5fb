// Node view: this node's shards (keys, memory, arena used and free, ops/s, latency percentiles,
// restarts), its clients, persistence and replication (offsets and lag per replica).

import { get } from '../api.js';
import { facts, fill, h, table } from '../dom.js';
import * as f from '../format.js';
import type { NodeView } from '../types.js';
import { PolledView } from '../view.js';

const PERIOD_MS = 2000;

export class NodePanel extends PolledView {
  readonly id = 'node';
  readonly title = 'Node';
  private readonly body = h('div');

  constructor() {
    super(PERIOD_MS);
    this.mount(this.body);
  }

  protected async refresh(): Promise<void> {
    const v = await get<NodeView>('/v1/node');
    const shards = table(
      ['Shard', 'Keys', 'Expires', 'Memory', 'Arena', 'Arena free', 'Ops/s', 'p50', 'p99', 'p99.9', 'Restarts'],
      v.shards,
      (s) => [
        String(s.id),
        f.count(s.keys),
        f.count(s.expires),
        f.bytes(s.usedMemory),
        f.bytes(s.arenaBytes),
        f.bytes(s.arenaFree),
        f.count(s.opsPerSec),
        f.micros(s.p50Us),
        f.micros(s.p99Us),
        f.micros(s.p999Us),
        h('span', { class: s.restarts > 0 ? 'bad' : '' }, f.count(s.restarts)),
      ],
    );
    shards.querySelector('table')?.setAttribute('id', 'shards-table');
    const replicas = table(
      ['Replica', 'Offset', 'Lag (bytes)', 'Lag (s)'],
      v.replication?.replicas ?? [],
      (r) => [r.id === undefined ? r.addr : `${r.addr} (${f.short(r.id)})`, f.count(r.offset), f.count(r.lagBytes), f.value(r.lagSeconds)],
      'no replicas',
    );
    fill(
      this.body,
      facts([
        ['Id', h('code', {}, v.id)],
        ['Version', v.version],
        ['Role', v.role],
        ['Uptime', f.seconds(v.uptimeSeconds)],
        ['Memory used', f.bytes(v.memory?.used)],
        ['Resident (RSS)', f.bytes(v.memory?.rss)],
        ['Peak', f.bytes(v.memory?.peak)],
      ]),
      h('h2', {}, 'Shards'),
      shards,
      h('div', { class: 'columns' },
        h('div', {}, h('h2', {}, 'Clients'), facts(entries(v.clients))),
        h('div', {}, h('h2', {}, 'Persistence'), facts(entries(v.persistence, /time$/i))),
      ),
      h('h2', {}, 'Replication'),
      facts([
        ['Role', v.replication?.role ?? '–'],
        ['Offset', f.count(v.replication?.offset)],
      ]),
      replicas,
    );
  }
}

/** An object's fields as label/value pairs, in the API's order; fields matching `times` are
 * epoch times. */
function entries(o: Record<string, unknown> | undefined, times?: RegExp): Array<[string, string]> {
  if (o === undefined || o === null) return [];
  return Object.entries(o).map(([k, v]) => [label(k), times !== undefined && times.test(k) && typeof v === 'number' ? f.time(v) : /size|bytes|memory/i.test(k) && typeof v === 'number' ? f.bytes(v) : f.value(v)]);
}

/** camelCase to words: "rewriteInProgress" -> "rewrite in progress". */
function label(k: string): string {
  const s = k.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return s.charAt(0).toUpperCase() + s.slice(1);
}
