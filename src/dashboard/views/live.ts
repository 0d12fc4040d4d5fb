// Live view: uPlot charts of throughput, latency percentiles and memory over the last minutes,
// fed from /v1/series: the whole ring once, then each second only the samples newer than the last
// one held. At most WINDOW_POINTS points are kept (older ones drop off the left); each chart's
// container carries data-points (how many it draws) for the browser test.

import uPlot from 'uplot';
import { get } from '../api.js';
import { h } from '../dom.js';
import * as f from '../format.js';
import type { Sample, SeriesView } from '../types.js';
import { PolledView } from '../view.js';

const PERIOD_MS = 1000;
/** Ten minutes of one-second samples: the API's ring. */
const WINDOW_POINTS = 600;
/** Each poll asks for a little more than the time since the last, to cover a late tick. */
const CATCH_UP_S = 5;
const HEIGHT_PX = 220;

interface ChartDef {
  readonly id: string;
  readonly title: string;
  /** `scale: 'right'` puts a series on its own axis at the right (RSS is megabytes when the data
   * is kilobytes: on one axis the data would draw as a flat zero). */
  readonly series: ReadonlyArray<{ label: string; colour: string; pick: (s: Sample) => number | null; scale?: 'right' }>;
  readonly fmt: (v: number) => string;
}

const CHARTS: readonly ChartDef[] = [
  { id: 'chart-ops', title: 'Throughput (ops/s)', fmt: f.count, series: [{ label: 'ops/s', colour: '#4e79a7', pick: (s) => s.opsPerSec }] },
  {
    id: 'chart-latency',
    title: 'Latency',
    fmt: f.micros,
    series: [
      { label: 'p50', colour: '#59a14f', pick: (s) => s.p50Us },
      { label: 'p99', colour: '#f28e2b', pick: (s) => s.p99Us },
      { label: 'p99.9', colour: '#e15759', pick: (s) => s.p999Us },
    ],
  },
  {
    id: 'chart-memory',
    title: 'Memory',
    fmt: f.bytes,
    series: [
      { label: 'used', colour: '#4e79a7', pick: (s) => s.usedMemory },
      { label: 'rss (right axis)', colour: '#b07aa1', pick: (s) => s.rss, scale: 'right' },
    ],
  },
];

class Chart {
  readonly box: HTMLElement;
  private plot: uPlot | null = null;

  constructor(
    readonly def: ChartDef,
    private readonly host: HTMLElement,
  ) {
    this.box = h('div', { class: 'chart', id: def.id, 'data-points': 0 });
    host.append(h('div', { class: 'chart-card' }, h('h3', {}, def.title), this.box));
  }

  setData(data: uPlot.AlignedData): void {
    if (this.plot === null) {
      const fmt = this.def.fmt;
      this.plot = new uPlot(
        {
          width: this.width(),
          height: HEIGHT_PX,
          series: [{}, ...this.def.series.map((s) => ({ label: s.label, stroke: s.colour, width: 1.5, scale: s.scale ?? 'y', value: (_u: uPlot, v: number | null) => (v === null ? '–' : fmt(v)) }))],
          axes: [
            {},
            { scale: 'y', size: 84, values: (_u: uPlot, vals: number[]) => vals.map((v) => fmt(v)) },
            ...(this.def.series.some((s) => s.scale === 'right')
              ? [{ scale: 'right', side: 1, size: 84, grid: { show: false }, values: (_u: uPlot, vals: number[]) => vals.map((v) => fmt(v)) }]
              : []),
          ],
          scales: { x: { time: true } },
          legend: { live: true },
        },
        data,
        this.box,
      );
    } else {
      this.plot.setData(data);
    }
    this.box.dataset['points'] = String(data[0].length);
  }

  resize(): void {
    this.plot?.setSize({ width: this.width(), height: HEIGHT_PX });
  }

  private width(): number {
    return Math.max(200, Math.floor(this.host.clientWidth > 0 ? (this.box.parentElement?.clientWidth ?? 600) - 2 : 600));
  }
}

export class LivePanel extends PolledView {
  readonly id = 'live';
  readonly title = 'Live';
  private readonly charts: Chart[];
  private readonly samples: Sample[] = [];
  private readonly resizer: ResizeObserver;

  constructor() {
    super(PERIOD_MS);
    const grid = h('div', { class: 'charts' });
    this.mount(h('p', { class: 'muted' }, 'One sample a second, the last ten minutes.'), grid);
    this.charts = CHARTS.map((d) => new Chart(d, grid));
    this.resizer = new ResizeObserver(() => {
      for (const c of this.charts) c.resize();
    });
    this.resizer.observe(grid);
  }

  protected async refresh(): Promise<void> {
    const last = this.samples.at(-1);
    const ask = last === undefined ? WINDOW_POINTS : Math.min(WINDOW_POINTS, Math.ceil((Date.now() - toMs(last.t)) / 1000) + CATCH_UP_S);
    const v = await get<SeriesView>(`/v1/series?seconds=${ask}`);
    const lastT = last === undefined ? -Infinity : last.t;
    for (const s of v.samples) if (s.t > lastT) this.samples.push(s);
    if (this.samples.length > WINDOW_POINTS) this.samples.splice(0, this.samples.length - WINDOW_POINTS);
    if (this.root.offsetParent === null) return; // hidden: uPlot would measure zero widths
    const xs = this.samples.map((s) => toMs(s.t) / 1000);
    for (const c of this.charts) c.setData([xs, ...c.def.series.map((d) => this.samples.map(d.pick))]);
  }
}

/** A sample's time in ms (the API gives ms since the epoch; seconds are accepted too). */
function toMs(t: number): number {
  return t > 1e11 ? t : t * 1000;
}
