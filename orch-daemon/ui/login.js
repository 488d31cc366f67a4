// ACL token login: the secret is entered once, checked against `/v1/acl/token/self`,
// kept in localStorage and sent with every call (api.js). A 403 anywhere shows the
// prompt in place of the page; signing in redraws the page the user was on.

import * as api from './api.js';
import {h, fill, kv} from './dom.js';

// The form: a Secret ID field and Sign in; `after` runs once the token is accepted.
function loginForm(after) {
  const input = h('input', {type: 'password', id: 'token-secret', placeholder: 'Secret ID (a UUID)', autocomplete: 'off', size: 40});
  const msg = h('p', {class: 'muted', id: 'login-message'});
  const submit = async (ev) => {
    ev.preventDefault();
    const secret = input.value.trim();
    if (!secret) { fill(msg, 'Enter the Secret ID of an ACL token.'); return; }
    api.setToken(secret);
    try {
      const self = await api.getJSON('/v1/acl/token/self', new AbortController().signal);
      fill(msg, `Signed in as ${self.Name || self.AccessorID}.`);
      after(self);
    } catch (e) {
      if (e.status === 400 && /disabled/i.test(e.text)) {
        fill(msg, 'ACLs are disabled on this cluster: no token is needed.');
        after(null);
        return;
      }
      api.setToken('');
      fill(msg, e.status === 403 ? 'That token is not valid (unknown or expired).' : String(e.message));
    }
  };
  return h('form', {id: 'login-form', onsubmit: submit},
    h('label', {for: 'token-secret'}, 'ACL token '), input, ' ',
    h('button', {type: 'submit', id: 'token-submit'}, 'Sign in'), msg);
}

// Replaces the page with the login prompt after a 403 (once; later 403s of the same
// page leave it alone). Signing in fires `orch-token`, which redraws the page.
export function loginPrompt(ctx, err) {
  if (ctx.main.querySelector('#login')) return;
  const why = api.token()
    ? 'The stored ACL token may not do this (403). Sign in with another token.'
    : 'This cluster has ACLs enabled: sign in with an ACL token to see this page.';
  fill(ctx.main, h('section', {class: 'card', id: 'login'},
    h('h1', {}, 'Sign in'),
    h('p', {}, why),
    h('p', {class: 'muted'}, `The agent said: ${err.text ? err.text.trim() : err.message}`),
    loginForm(() => window.dispatchEvent(new Event('orch-token')))));
}

// `/ui/settings/tokens`: who the stored token is, sign in with another, sign out.
export async function tokensPage(ctx) {
  ctx.title('ACL token');
  const who = h('div', {id: 'token-info'});
  ctx.main.append(h('section', {class: 'card'}, h('h1', {}, 'ACL token'),
    h('p', {}, 'The token is kept in this browser (localStorage) and sent as X-Nomad-Token with every request.'),
    who, loginForm(() => window.dispatchEvent(new Event('orch-token'))),
    h('p', {}, h('button', {id: 'token-clear', onclick: () => { api.setToken(''); window.dispatchEvent(new Event('orch-token')); }}, 'Sign out'))));
  if (!api.token()) { fill(who, h('p', {class: 'muted'}, 'No token stored: requests are anonymous.')); return; }
  try {
    const t = await api.getJSON('/v1/acl/token/self', ctx.signal);
    fill(who, kv([['Name', t.Name || '–'], ['Accessor ID', t.AccessorID], ['Type', t.Type],
      ['Policies', (t.Policies || []).join(', ') || '–'], ['Roles', (t.Roles || []).map((r) => r.Name).join(', ') || '–']]));
  } catch (e) {
    if (e.status === 400) fill(who, h('p', {class: 'muted'}, 'ACLs are disabled on this cluster.'));
    else fill(who, h('p', {class: 'error'}, String(e.message)));
  }
}

// The header's token link: the token's name when signed in.
export async function showWho() {
  const el = document.getElementById('whoami');
  if (!el) return;
  if (!api.token()) { fill(el, 'ACL token'); return; }
  try {
    const t = await api.getJSON('/v1/acl/token/self', new AbortController().signal);
    fill(el, `Token: ${t.Name || t.AccessorID.slice(0, 8)}`);
  } catch {
    fill(el, 'ACL token');
  }
}
