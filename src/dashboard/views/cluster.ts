// Cluster view: the cluster's state, every node (address, role, its primary, flags, link, epoch,
// keys, memory, ops/s, p99) with a link to that node's own dashboard, and the slot map.

import { get } from '../api.js';
import { fill, h, table } from '../dom.js';
import * as f from '../format.js';
import { colourOf } from '../palette.js';
import type { ClusterNode, ClusterView } from '../types.js';
import { PolledView } from '../view.js';
import { SlotMap } from './slot-map.js';

const PERIOD_MS = 2000;

export class ClusterPanel extends PolledView {
  readonly id = 'cluster';
  readonly title = 'Cluster';
  private readonly summary = h('div', { class: 'cards' });
  private readonly nodes = h('div');
  private readonly map = new SlotMap();
  /** The last view read, for other views (names of node ids). */
  last: ClusterView | null = null;

  constructor() {
    super(PERIOD_MS);
    this.mount(this.summary, h('h2', {}, 'Nodes'), this.nodes, h('h2', {}, 'Slots'), this.map.root);
  }

  protected async refresh(): Promise<void> {
    const v = await get<ClusterView>('/v1/cluster');
    this.last = v;
    const primaries = v.nodes.filter((n) => n.role === 'primary');
    fill(
      this.summary,
      card('State', h('span', { class: v.state === 'ok' ? 'ok' : 'bad', 'data-cluster-state': v.state }, v.state)),
      card('Mode', v.enabled ? 'cluster' : 'single node'),
      card('Nodes', h('span', { 'data-node-count': v.nodes.length }, `${v.nodes.length} (${primaries.length} primaries)`)),
      card('Slots assigned', `${f.count(v.slotsAssigned)} / 16,384`),
      card('Epoch', f.count(v.currentEpoch)),
    );
    const colourIndex = new Map(primaries.map((n, i) => [n.id, i]));
    const nodeTable = table(
      ['', 'Address', 'Id', 'Role', 'Primary', 'Flags', 'Link', 'Epoch', 'Slots', 'Keys', 'Memory', 'Ops/s', 'p99', 'Dashboard'],
      v.nodes,
      (n) => nodeRow(n, v.myId, colourIndex.get(n.primaryId ?? n.id)),
    );
    nodeTable.querySelector('table')?.setAttribute('id', 'nodes-table');
    for (const tr of nodeTable.querySelectorAll('tbody tr')) tr.classList.add('node-row');
    fill(this.nodes, nodeTable);
    this.map.draw(v);
  }
}

function card(label: string, value: Node | string): HTMLElement {
  return h('div', { class: 'card' }, h('div', { class: 'card-label' }, label), h('div', { class: 'card-value' }, value));
}

function nodeRow(n: ClusterNode, myId: string, colour: number | undefined): Array<Node | string> {
  const slots = n.slots.reduce((c, [a, b]) => c + b - a + 1, 0);
  const moving = n.migrating.length + n.importing.length;
  const link =
    n.httpPort === null || n.httpPort === undefined
      ? '–'
      : n.id === myId
        ? 'this node'
        : h('a', { href: `${location.protocol}//${hostFor(n.ip)}:${n.httpPort}/` }, 'open');
  return [
    h('i', { class: 'swatch', style: `background:${colour === undefined ? 'transparent' : colourOf(colour)}` }),
    `${n.ip}:${n.port}`,
    h('code', { title: n.id }, f.short(n.id)),
    n.role,
    n.primaryId === null ? '–' : h('code', { title: n.primaryId }, f.short(n.primaryId)),
    n.flags.join(','),
    h('span', { class: n.linkState === 'connected' ? 'ok' : 'bad' }, n.linkState),
    f.count(n.configEpoch),
    moving > 0 ? `${f.count(slots)} (${moving} moving)` : f.count(slots),
    f.count(n.stats?.keys),
    f.bytes(n.stats?.usedMemory),
    f.count(n.stats?.opsPerSec),
    f.micros(n.stats?.p99Us),
    link,
  ];
}

/** The host to reach a node's dashboard: its announced IP, unless it is a wildcard. */
function hostFor(ip: string): string {
  if (ip === '' || ip === '0.0.0.0' || ip === '::') return location.hostname;
  return ip.includes(':') ? `[${ip}]` : ip;
}
