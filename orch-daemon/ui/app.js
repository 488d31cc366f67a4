// The UI's entry point: the client-side router (every `/ui/...` path is a view; the
// agent answers each with index.html), the page context pages draw into, and the nav.
//
// A page is `function (ctx, ...pathParts)`. It draws into `ctx.main` and keeps itself
// current through `ctx.watch` (a blocking query) or `ctx.live` (the event stream); all
// of it stops when the user navigates, because every request carries `ctx.signal`.

import * as api from './api.js';
import {h, fill} from './dom.js';
import {jobsPage} from './jobs.js';
import {jobPage} from './job.js';
import {allocPage} from './alloc.js';
import {nodesPage, nodePage} from './nodes.js';
import {topologyPage} from './topology.js';
import {serversPage, servicesPage, servicePage, volumesPage, pluginsPage, scalingPage} from './cluster.js';
import {tokensPage, loginPrompt, showWho} from './login.js';

const ROUTES = [
  [/^\/ui\/?$/, 'jobs', (ctx) => ctx.go('/ui/jobs', true)],
  [/^\/ui\/jobs\/?$/, 'jobs', jobsPage],
  [/^\/ui\/jobs\/([^/]+)$/, 'jobs', jobPage],
  [/^\/ui\/allocations\/([^/]+)$/, 'jobs', allocPage],
  [/^\/ui\/clients\/?$/, 'clients', nodesPage],
  [/^\/ui\/clients\/([^/]+)$/, 'clients', nodePage],
  [/^\/ui\/topology\/?$/, 'topology', topologyPage],
  [/^\/ui\/servers\/?$/, 'servers', serversPage],
  [/^\/ui\/services\/?$/, 'services', servicesPage],
  [/^\/ui\/services\/([^/]+)$/, 'services', servicePage],
  [/^\/ui\/csi\/?$/, 'csi', (ctx) => ctx.go('/ui/csi/volumes', true)],
  [/^\/ui\/csi\/volumes\/?$/, 'csi', volumesPage],
  [/^\/ui\/csi\/plugins\/?$/, 'csi', pluginsPage],
  [/^\/ui\/scaling\/?$/, 'scaling', scalingPage],
  [/^\/ui\/settings\/tokens\/?$/, '', tokensPage],
];

let current = null;

// Draws the view for the browser's current path, stopping the previous one first.
function render() {
  if (current) current.abort();
  const ctrl = new AbortController();
  current = ctrl;
  const main = document.getElementById('main');
  const path = location.pathname;
  const found = ROUTES.map(([re, section, page]) => [path.match(re), section, page]).find(([m]) => m);
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', !!found && a.dataset.section === found[1]);
  }
  fill(main);
  const ctx = makeContext(main, ctrl.signal);
  if (!found) {
    ctx.title('Not found');
    fill(main, h('section', {class: 'card'}, h('h1', {}, 'Not found'),
      h('p', {}, `No page at ${path}. `, h('a', {href: '/ui/jobs'}, 'Go to the jobs.'))));
    return;
  }
  const [m, , page] = found;
  try {
    const r = page(ctx, ...m.slice(1));
    if (r && r.catch) r.catch((e) => ctx.fail(e));
  } catch (e) {
    ctx.fail(e);
  }
}

// What a page gets: where to draw, its abort signal, and the helpers below.
function makeContext(main, signal) {
  const errBox = h('div', {class: 'error', id: 'error', hidden: true});
  main.appendChild(errBox);
  const ctx = {
    main,
    signal,
    query: new URLSearchParams(location.search),
    // Sets the tab title.
    title(t) { document.title = t ? `${t} · orch` : 'orch'; },
    // Navigates to a UI path (replace: no new history entry).
    go(path, replace = false) { navigate(path, replace); },
    // Shows an error: a 403 becomes the login prompt; others a banner above the page.
    fail(e) {
      if (signal.aborted || (e && e.name === 'AbortError')) return;
      if (e && e.status === 403) { loginPrompt(ctx, e); return; }
      console.error(e);
      errBox.hidden = false;
      fill(errBox, String((e && e.message) || e));
    },
    // Shows an error banner even for a 403 (a refused write: the page stays).
    error(e) {
      if (signal.aborted || (e && e.name === 'AbortError')) return;
      errBox.hidden = false;
      fill(errBox, e && e.status === 403 ? `Not allowed with this token: ${e.text || e.message}` : String((e && e.message) || e));
    },
    // Clears the banner once a call succeeds again.
    ok() { errBox.hidden = true; },
    // A blocking query on `path`: onData(data) now and on every change.
    watch(path, onData) {
      api.watch(path, signal, (d, i) => { ctx.ok(); onData(d, i); }, (e) => ctx.fail(e));
    },
    // load() now, then again (debounced) on every event stream batch of `topics`.
    live(topics, namespace, load) {
      const run = async () => {
        try { await load(); ctx.ok(); } catch (e) { ctx.fail(e); }
      };
      const again = api.debounce(run, 250);
      run();
      api.events(topics, namespace, signal, again, (e) => ctx.fail(e));
    },
    // Polls load() every `ms` (for the few endpoints without blocking queries).
    poll(ms, load) {
      (async () => {
        while (!signal.aborted) {
          try { await load(); ctx.ok(); } catch (e) { ctx.fail(e); if (e.status === 403) return; }
          await api.pause(ms, signal);
        }
      })();
    },
  };
  return ctx;
}

// Changes the path without a reload and draws its view.
export function navigate(path, replace = false) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

// Links inside the UI navigate in place (a modified click opens a tab as usual).
document.addEventListener('click', (ev) => {
  const a = ev.target.closest && ev.target.closest('a[href]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const href = a.getAttribute('href');
  if (!href.startsWith('/ui/') || a.target) return;
  ev.preventDefault();
  if (href !== location.pathname + location.search) navigate(href);
});

window.addEventListener('popstate', render);
// Leaving the document (another site, a reload, or into the back-forward cache): stop
// every long poll and stream, or a frozen page keeps holding some of the six
// connections a browser opens to the agent. Coming back from that cache draws anew.
window.addEventListener('pagehide', () => { if (current) current.abort(); });
window.addEventListener('pageshow', (ev) => { if (ev.persisted) render(); });
window.addEventListener('orch-token', () => { showWho(); render(); });

showWho();
render();
