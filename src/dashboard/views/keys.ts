// Keys view: SCAN with a pattern and a type filter, one SCAN step per request (the server is never
// blocked by a listing), with "more" paging through the cursor; a key's row opens its type, TTL,
// encoding, memory and a bounded preview of its value.

import { ApiError, get } from '../api.js';
import { errorBox, facts, fill, h, table } from '../dom.js';
import * as f from '../format.js';
import type { KeyView, ScanKey, ScanView } from '../types.js';
import type { View } from '../view.js';

const TYPES = ['', 'string', 'list', 'set', 'zset', 'hash', 'stream'];
/** Keys a page aims for; and SCAN steps one click may take to fill it (a sparse match returns
 * empty steps). Each step is its own request. */
const PAGE_KEYS = 50;
const STEPS_PER_PAGE_MAX = 20;

export class KeysPanel implements View {
  readonly id = 'keys';
  readonly title = 'Keys';
  readonly root: HTMLElement;
  private readonly pattern = h('input', { id: 'keys-pattern', type: 'search', value: '*', 'aria-label': 'pattern', placeholder: 'pattern, e.g. user:*' });
  private readonly type = h('select', { id: 'keys-type', 'aria-label': 'type' }, ...TYPES.map((t) => h('option', { value: t }, t === '' ? 'any type' : t)));
  private readonly more = h('button', { id: 'keys-more', type: 'button', class: 'secondary', hidden: true }, 'More');
  private readonly status = h('p', { class: 'muted', id: 'keys-status' });
  private readonly list = h('div', { id: 'keys-list' });
  private readonly detail = h('div', { id: 'key-detail' });
  private readonly errors = h('div');
  private cursor = '0';
  private found: ScanKey[] = [];
  private busy = false;

  constructor() {
    const form = h('form', { class: 'toolbar', id: 'keys-form' }, this.pattern, this.type, h('button', { type: 'submit' }, 'Scan'), this.more);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.cursor = '0';
      this.found = [];
      void this.page();
    });
    this.more.addEventListener('click', () => void this.page());
    this.root = h('section', { id: 'view-keys' }, form, this.errors, this.status, h('div', { class: 'columns keys-columns' }, this.list, this.detail));
  }

  start(): void {
    if (this.found.length === 0 && this.cursor === '0') void this.page();
  }

  stop(): void {}

  /** Steps the scan until a page's worth of keys came or the cursor is back to 0. */
  private async page(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.errors.replaceChildren();
    try {
      let got = 0;
      for (let step = 0; step < STEPS_PER_PAGE_MAX && got < PAGE_KEYS; step++) {
        const q = new URLSearchParams({ cursor: this.cursor, match: this.pattern.value || '*', type: this.type.value, count: String(PAGE_KEYS) });
        const r = await get<ScanView>(`/v1/scan?${q}`);
        this.found.push(...r.keys);
        got += r.keys.length;
        this.cursor = String(r.cursor);
        if (this.cursor === '0') break;
      }
      this.render();
    } catch (e) {
      this.errors.replaceChildren(errorBox(e));
    } finally {
      this.busy = false;
    }
  }

  private render(): void {
    this.more.hidden = this.cursor === '0';
    this.status.textContent = `${f.count(this.found.length)} keys${this.cursor === '0' ? ', scan complete' : ', more to scan'}`;
    const t = table(['Key', 'Type', 'TTL', 'Encoding', 'Memory'], this.found, (k) => [
      h('button', { type: 'button', class: 'link key-link', 'data-key': k.key }, k.key),
      k.type,
      f.ttl(k.ttl),
      k.encoding,
      f.bytes(k.memory),
    ], 'no keys match');
    for (const b of t.querySelectorAll<HTMLButtonElement>('button.key-link')) b.addEventListener('click', () => void this.open(b.dataset['key'] ?? ''));
    fill(this.list, t);
  }

  private async open(key: string): Promise<void> {
    try {
      const k = await get<KeyView>(`/v1/key?${new URLSearchParams({ key })}`);
      fill(
        this.detail,
        h('h2', {}, 'Key'),
        facts([
          ['Key', h('code', {}, k.key)],
          ['Type', k.type],
          ['TTL', f.ttl(k.ttl)],
          ['Encoding', k.encoding],
          ['Memory', f.bytes(k.memory)],
        ]),
        h('h3', {}, 'Preview'),
        h('pre', { class: 'preview', id: 'key-preview' }, typeof k.preview === 'string' ? k.preview : JSON.stringify(k.preview, null, 2)),
      );
    } catch (e) {
      fill(this.detail, errorBox(e instanceof ApiError && e.status === 404 ? `${key}: no such key (expired or deleted)` : e));
    }
  }
}
