// Rebalance view: the plan `tessera cluster rebalance --dry-run` would carry out (moves between
// nodes), a Start button (a write: it goes with the credentials, the form asks when the node says
// 401) and, while it runs, a progress bar of slots moved out of the total.

import { get, post } from '../api.js';
import { facts, fill, h, table } from '../dom.js';
import * as f from '../format.js';
import type { ClusterView, Plan, RebalanceState } from '../types.js';
import { Poller, type View } from '../view.js';

const IDLE_PERIOD_MS = 3000;
const RUNNING_PERIOD_MS = 500;
const RANGES_SHOWN_MAX = 6;

export class RebalancePanel implements View {
  readonly id = 'rebalance';
  readonly title = 'Rebalance';
  readonly root: HTMLElement;
  private readonly threshold = h('input', { id: 'rebalance-threshold', type: 'number', min: 0, step: 1, placeholder: 'threshold %', 'aria-label': 'threshold (%)' });
  private readonly start_ = h('button', { id: 'rebalance-start', type: 'button' }, 'Start rebalance');
  private readonly planBox = h('div', { id: 'rebalance-plan' });
  private readonly stateBox = h('div', { id: 'rebalance-state' });
  private readonly bar = h('progress', { id: 'rebalance-progress', max: 1, value: 0 });
  private readonly errors = h('div');
  private readonly idle: Poller;
  private readonly running: Poller;
  private names = new Map<string, string>();
  private current: RebalanceState | null = null;

  constructor() {
    const planForm = h('form', { class: 'toolbar' }, h('label', {}, 'Threshold (%) ', this.threshold), h('button', { type: 'submit', class: 'secondary' }, 'Plan'), this.start_);
    planForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.idle.now();
    });
    this.start_.addEventListener('click', () => void this.begin());
    this.root = h('section', { id: 'view-rebalance' }, planForm, this.errors, h('h2', {}, 'Progress'), this.bar, this.stateBox, h('h2', {}, 'Plan'), this.planBox);
    this.idle = new Poller(IDLE_PERIOD_MS, () => this.refresh(true), this.errors);
    this.running = new Poller(RUNNING_PERIOD_MS, () => this.refresh(false), this.errors);
  }

  start(): void {
    this.idle.start();
  }

  stop(): void {
    this.idle.stop();
    this.running.stop();
  }

  private async refresh(withPlan: boolean): Promise<void> {
    const st = await get<RebalanceState>('/v1/rebalance');
    this.showState(st);
    if (st.state === 'running') {
      this.idle.stop();
      this.running.start();
      if (st.plan !== null) this.showPlan(st.plan);
      return;
    }
    this.running.stop();
    this.idle.start();
    if (withPlan) {
      const c = await get<ClusterView>('/v1/cluster');
      this.names = new Map(c.nodes.map((n) => [n.id, `${n.ip}:${n.port}`]));
      this.showPlan(await get<Plan>(`/v1/rebalance/plan${this.query()}`));
    }
  }

  private async begin(): Promise<void> {
    this.start_.disabled = true;
    this.errors.replaceChildren();
    try {
      this.showState(await post<RebalanceState>(`/v1/rebalance${this.query()}`));
      this.idle.stop();
      this.running.start();
    } catch (e) {
      this.errors.replaceChildren(h('p', { class: 'error', role: 'alert' }, e instanceof Error ? e.message : String(e)));
      this.start_.disabled = false;
    }
  }

  /** The plan's settings as the API takes them, for the plan and the start alike. */
  private query(): string {
    return this.threshold.value === '' ? '' : `?${new URLSearchParams({ threshold: this.threshold.value })}`;
  }

  private showState(st: RebalanceState): void {
    this.current = st;
    this.bar.max = Math.max(1, st.total);
    this.bar.value = st.moved;
    this.start_.disabled = st.state === 'running';
    this.root.dataset['state'] = st.state;
    fill(
      this.stateBox,
      facts([
        ['State', h('span', { id: 'rebalance-state-text', class: st.state === 'failed' ? 'bad' : st.state === 'done' ? 'ok' : '' }, st.state)],
        ['Moved', h('span', { id: 'rebalance-moved' }, `${f.count(st.moved)} / ${f.count(st.total)} slots (${f.count(st.keysMoved)} keys)`)],
        ['Started', f.time(st.startedAt)],
        ['Finished', f.time(st.finishedAt)],
        ['Error', st.error ?? '–'],
      ]),
    );
  }

  private showPlan(p: Plan): void {
    const name = (id: string): string => this.names.get(id) ?? f.short(id);
    fill(
      this.planBox,
      h('p', { id: 'rebalance-total' }, p.moves.length === 0
        ? `Balanced within ${p.thresholdPct}% (worst ${p.worstPct}%): nothing to move.`
        : `${f.count(p.totalSlots)} slots to move in ${p.moves.length} steps (worst imbalance ${p.worstPct}%, threshold ${p.thresholdPct}%).`),
      p.moves.length === 0 ? null : table(['From', 'To', 'Slots', 'Ranges'], p.moves, (m) => [name(m.from), name(m.to), f.count(m.count), ranges(m.slots)]),
      p.loads.length === 0 ? null : h('h3', {}, 'Load per node (slots, weighted)'),
      p.loads.length === 0 ? null : table(['Node', 'Has', 'Should have'], p.loads, (l) => [name(l.id), f.count(l.actual), f.count(l.expected)]),
    );
    this.start_.hidden = p.moves.length === 0 && this.current?.state !== 'running';
  }
}

/** Ranges as CLUSTER-style text, the first few only (a plan can list hundreds). */
function ranges(rs: ReadonlyArray<readonly [number, number]>): string {
  const shown = rs.slice(0, RANGES_SHOWN_MAX).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
  return rs.length > RANGES_SHOWN_MAX ? `${shown.join(', ')}, … (${rs.length} ranges)` : shown.join(', ');
}
