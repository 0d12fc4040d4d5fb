// The 16384 slots as a 128 x 128 grid on a canvas, one cell per slot coloured by its owner;
// migrating slots get a dark outline, importing slots a light dot. The canvas's data-slots-drawn
// says how many cells the last draw painted (the browser test reads it) and hovering names a slot.

import { h } from '../dom.js';
import { UNASSIGNED, colourOf } from '../palette.js';
import type { ClusterView } from '../types.js';

const SLOTS = 16384;
const COLS = 128;
const CELL_PX = 4;

export class SlotMap {
  readonly root: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly legend: HTMLElement;
  private readonly hover: HTMLElement;
  /** Owner index per slot (-1: unassigned), kept for the hover text. */
  private readonly owner = new Int16Array(SLOTS).fill(-1);
  private names: string[] = [];
  private readonly marks = new Map<number, string>();

  constructor() {
    this.canvas = h('canvas', { width: COLS * CELL_PX, height: (SLOTS / COLS) * CELL_PX, class: 'slot-map', 'aria-label': 'slot map' });
    this.legend = h('div', { class: 'legend' });
    this.hover = h('p', { class: 'muted slot-hover' }, 'Hover a cell to see its slot.');
    this.root = h('div', { class: 'slot-map-wrap' }, this.canvas, this.legend, this.hover);
    this.canvas.addEventListener('mousemove', (e) => this.onHover(e));
  }

  draw(view: ClusterView): void {
    const ctx = this.canvas.getContext('2d');
    if (ctx === null) return;
    this.owner.fill(-1);
    this.marks.clear();
    const primaries = view.nodes.filter((n) => n.role === 'primary');
    this.names = primaries.map((n) => `${n.ip}:${n.port}`);
    primaries.forEach((n, i) => {
      for (const [a, b] of n.slots) for (let s = a; s <= b && s < SLOTS; s++) this.owner[s] = i;
      for (const [slot, to] of n.migrating) this.marks.set(slot, `migrating to ${to.slice(0, 8)}`);
      for (const [slot, from] of n.importing) if (!this.marks.has(slot)) this.marks.set(slot, `importing from ${from.slice(0, 8)}`);
    });
    let drawn = 0;
    for (let s = 0; s < SLOTS; s++) {
      const o = this.owner[s] ?? -1;
      ctx.fillStyle = o < 0 ? UNASSIGNED : colourOf(o);
      ctx.fillRect((s % COLS) * CELL_PX, Math.floor(s / COLS) * CELL_PX, CELL_PX, CELL_PX);
      drawn++;
    }
    for (const [slot, what] of this.marks) {
      const x = (slot % COLS) * CELL_PX;
      const y = Math.floor(slot / COLS) * CELL_PX;
      if (what.startsWith('migrating')) {
        ctx.strokeStyle = '#111';
        ctx.lineWidth = 1;
        ctx.strokeRect(x + 0.5, y + 0.5, CELL_PX - 1, CELL_PX - 1);
      } else {
        ctx.fillStyle = '#fff';
        ctx.fillRect(x + 1, y + 1, CELL_PX - 2, CELL_PX - 2);
      }
    }
    this.canvas.dataset['slotsDrawn'] = String(drawn);
    this.canvas.dataset['slotsAssigned'] = String(this.owner.reduce((n, o) => (o >= 0 ? n + 1 : n), 0));
    const items = primaries.map((n, i) => {
      const count = n.slots.reduce((c, [a, b]) => c + b - a + 1, 0);
      return h('span', { class: 'legend-item' }, h('i', { style: `background:${colourOf(i)}` }), `${n.ip}:${n.port} (${count})`);
    });
    items.push(h('span', { class: 'legend-item' }, h('i', { style: `background:${UNASSIGNED}` }), 'unassigned'));
    if (this.marks.size > 0) items.push(h('span', { class: 'legend-item' }, h('i', { class: 'mark-migrating' }), `${this.marks.size} migrating/importing`));
    this.legend.replaceChildren(...items);
  }

  private onHover(e: MouseEvent): void {
    const r = this.canvas.getBoundingClientRect();
    const col = Math.floor(((e.clientX - r.left) / r.width) * COLS);
    const row = Math.floor(((e.clientY - r.top) / r.height) * (SLOTS / COLS));
    const slot = row * COLS + col;
    if (slot < 0 || slot >= SLOTS || col < 0 || col >= COLS) return;
    const o = this.owner[slot] ?? -1;
    const mark = this.marks.get(slot);
    this.hover.textContent = `slot ${slot}: ${o < 0 ? 'unassigned' : this.names[o] ?? '?'}${mark === undefined ? '' : `, ${mark}`}`;
  }
}
