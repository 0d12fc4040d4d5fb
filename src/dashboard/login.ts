// The credentials form: shown when the API answers 401, resolves with what was typed, or null
// when cancelled. One form at a time; calls that arrive while it is open share its answer.

import { h } from './dom.js';

export interface Credentials {
  user: string;
  pass: string;
}

let pending: Promise<Credentials | null> | null = null;

export function askCredentials(reason: string): Promise<Credentials | null> {
  if (pending !== null) return pending;
  pending = new Promise<Credentials | null>((resolve) => {
    const user = h('input', { name: 'user', autocomplete: 'username', value: 'default' });
    const pass = h('input', { name: 'pass', type: 'password', autocomplete: 'current-password' });
    const form = h('form', { class: 'login', method: 'dialog' },
      h('h2', {}, 'Sign in'),
      h('p', { class: 'muted' }, reason),
      h('label', {}, 'User', user),
      h('label', {}, 'Password', pass),
      h('div', { class: 'row' }, h('button', { type: 'submit', value: 'ok' }, 'Sign in'), h('button', { type: 'button', value: 'cancel', class: 'secondary' }, 'Cancel')),
    );
    const dialog = h('dialog', { id: 'login' }, form);
    const finish = (c: Credentials | null): void => {
      dialog.close();
      dialog.remove();
      pending = null;
      resolve(c);
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      finish({ user: user.value, pass: pass.value });
    });
    form.querySelector('button[value=cancel]')?.addEventListener('click', () => finish(null));
    dialog.addEventListener('cancel', () => finish(null));
    document.body.append(dialog);
    dialog.showModal();
    pass.focus();
  });
  return pending;
}
