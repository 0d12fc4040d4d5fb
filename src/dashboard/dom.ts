// Element building without innerHTML: keys, arguments and values are user data, so every text
// goes in as a text node (no markup from the server is ever parsed).

export type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

/** Replaces the element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A table with a header row and one row per item (cells made by `row`). */
export function table<T>(headers: string[], items: readonly T[], row: (item: T) => Child[], empty = 'none'): HTMLElement {
  const body = h('tbody');
  for (const item of items) body.append(h('tr', {}, ...row(item).map((c) => h('td', {}, c))));
  if (items.length === 0) body.append(h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, empty)));
  return h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', {}, x)))), body));
}

/** A small label/value grid. */
export function facts(pairs: Array<[string, Child]>): HTMLElement {
  const dl = h('dl', { class: 'facts' });
  for (const [k, v] of pairs) dl.append(h('dt', {}, k), h('dd', {}, v));
  return dl;
}

export function errorBox(e: unknown): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, e instanceof Error ? e.message : String(e));
}
