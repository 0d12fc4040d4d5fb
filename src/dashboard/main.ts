// The dashboard's shell: a tab per view, the shown one chosen by the URL's #fragment (so a view
// can be linked and reloaded), and only that view polling its node. Everything the page shows
// comes from this node's JSON API (docs/http-api.md); the page itself holds no secrets.

import 'uplot/dist/uPlot.min.css';
import './style.css';
import { DECLINED_EVENT, SIGNED_IN_EVENT, askAgain, forgetCredentials, get, hasCredentials } from './api.js';
import { h } from './dom.js';
import type { NodeView } from './types.js';
import type { View } from './view.js';
import { ClusterPanel } from './views/cluster.js';
import { KeysPanel } from './views/keys.js';
import { LivePanel } from './views/live.js';
import { LogsPanel } from './views/logs.js';
import { NodePanel } from './views/node.js';
import { RebalancePanel } from './views/rebalance.js';

const views: View[] = [new ClusterPanel(), new NodePanel(), new LivePanel(), new KeysPanel(), new LogsPanel(), new RebalancePanel()];
const tabs = new Map<string, HTMLAnchorElement>();
let shown: View | null = null;

function show(id: string): void {
  const next = views.find((v) => v.id === id) ?? views[0]!;
  if (next === shown) return;
  shown?.stop();
  for (const v of views) v.root.hidden = v !== next;
  for (const [vid, a] of tabs) {
    if (vid === next.id) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  shown = next;
  document.title = `${next.title} · Tessera`;
  next.start();
}

function boot(): void {
  const who = h('span', { class: 'who muted', id: 'node-name' });
  const signOut = h('button', { type: 'button', class: 'secondary small', hidden: !hasCredentials() }, 'Sign out');
  signOut.addEventListener('click', () => {
    forgetCredentials();
    location.reload();
  });
  // After a cancelled sign-in: asks again (the view's next refresh shows the form).
  const signIn = h('button', { type: 'button', class: 'small', id: 'sign-in', hidden: true }, 'Sign in');
  signIn.addEventListener('click', () => {
    signIn.hidden = true;
    askAgain();
    shown?.stop();
    shown?.start();
  });
  const nav = h('nav', { class: 'tabs', 'aria-label': 'views' });
  for (const v of views) {
    const a = h('a', { href: `#${v.id}`, id: `tab-${v.id}` }, v.title);
    tabs.set(v.id, a);
    nav.append(a);
  }
  const main = h('main', {}, ...views.map((v) => v.root));
  document.body.replaceChildren(h('header', {}, h('h1', {}, 'Tessera'), who, signIn, signOut), nav, main);
  window.addEventListener('hashchange', () => show(location.hash.slice(1)));
  window.addEventListener(SIGNED_IN_EVENT, () => {
    signOut.hidden = false;
    signIn.hidden = true;
  });
  window.addEventListener(DECLINED_EVENT, () => (signIn.hidden = false));
  show(location.hash.slice(1));
  // The header names the node once; a failure here shows in the views themselves.
  get<NodeView>('/v1/node')
    .then((n) => {
      who.textContent = `node ${n.id.slice(0, 8)} · ${n.role} · v${n.version}`;
      signOut.hidden = !hasCredentials();
    })
    .catch(() => undefined);
}

boot();
