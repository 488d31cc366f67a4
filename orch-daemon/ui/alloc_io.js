// An allocation's logs and files, read from the agent running it (servers forward).
// Logs follow live: one streamed `/v1/client/fs/logs/<id>?follow=true&plain=true`
// request, started from the last 64 KiB, appended to as the task writes. Files: `fs/ls`
// to browse the allocation directory, `fs/cat` to show one (the first 1 MiB).

import * as api from './api.js';
import {h, fill, section, table, fmtBytes} from './dom.js';

const TAIL_BYTES = 65536;
const KEEP_CHARS = 512 * 1024;
const CAT_LIMIT = 1024 * 1024;

// The log panel: task and stream pickers, a follow switch, the text.
export function logView(el, ctx, id, tasks) {
  const task = h('select', {id: 'log-task'}, tasks.map((t) => h('option', {value: t}, t)));
  const kind = h('select', {id: 'log-type'}, h('option', {value: 'stdout'}, 'stdout'), h('option', {value: 'stderr'}, 'stderr'));
  const follow = h('input', {type: 'checkbox', id: 'log-follow', checked: true});
  const status = h('span', {class: 'muted', id: 'log-status'});
  const pre = h('pre', {class: 'log', id: 'log'});
  fill(el, section('Logs', 'logs',
    h('div', {class: 'filters'}, h('label', {}, 'Task ', task), h('label', {}, 'Stream ', kind),
      h('label', {}, follow, ' follow'), status), pre));
  let stream = null;
  const start = () => {
    if (stream) stream.abort();
    stream = new AbortController();
    const signal = stream.signal;
    ctx.signal.addEventListener('abort', () => stream && stream.abort(), {once: true});
    pre.textContent = '';
    if (!task.value) { fill(status, 'no tasks'); return; }
    const q = `task=${api.enc(task.value)}&type=${kind.value}&plain=true&origin=end&offset=${TAIL_BYTES}&follow=${follow.checked}`;
    fill(status, follow.checked ? 'following…' : 'loading…');
    (async () => {
      try {
        const r = await api.request(`/v1/client/fs/logs/${api.enc(id)}?${q}`, {signal});
        await api.readStream(r, signal, (text) => {
          const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
          pre.append(text);
          if (pre.textContent.length > KEEP_CHARS) pre.textContent = pre.textContent.slice(-KEEP_CHARS / 2);
          if (atBottom) pre.scrollTop = pre.scrollHeight;
        });
        if (!signal.aborted) fill(status, follow.checked ? 'the stream ended (the task stopped?)' : 'end of log');
      } catch (e) {
        if (signal.aborted || e.name === 'AbortError') return;
        if (e.status === 403) { ctx.fail(e); return; }
        // Often the task has not started yet: try again while the page is open.
        fill(status, `cannot read the log yet (${e.message}); retrying…`);
        await api.pause(2000, signal);
        if (!signal.aborted) start();
      }
    })();
  };
  for (const c of [task, kind, follow]) c.addEventListener('change', start);
  start();
}

// The file browser: a directory listing (click a directory to enter it, a file to
// show it) and the file's text.
export function fileBrowser(el, ctx, id) {
  const where = h('div', {class: 'crumbs', id: 'fs-path'});
  const list = h('div', {id: 'fs-list'});
  const view = h('pre', {class: 'log file', id: 'fs-file', hidden: true});
  fill(el, section('Files', 'files', where, list, view));
  let reader = null;
  const open = async (path) => {
    view.hidden = true;
    crumbs(where, path, open);
    try {
      const entries = await api.getJSON(`/v1/client/fs/ls/${api.enc(id)}?path=${api.enc(path)}`, ctx.signal);
      entries.sort((a, b) => (b.IsDir - a.IsDir) || a.Name.localeCompare(b.Name));
      fill(list, table(['Name', 'Size', 'Mode', 'Modified'], entries.map((f) => {
        const child = `${path.replace(/\/$/, '')}/${f.Name}`;
        const link = h('a', {href: '#', class: f.IsDir ? 'dir' : 'file', onclick: (ev) => {
          ev.preventDefault();
          if (f.IsDir) open(child); else cat(child, f.Size);
        }}, f.IsDir ? `${f.Name}/` : f.Name);
        return [link, f.IsDir ? '' : fmtBytes(f.Size), f.FileMode, f.ModTime];
      }), {class: 'list files', empty: 'Empty directory.'}));
    } catch (e) {
      if (e.status === 403) { ctx.fail(e); return; }
      fill(list, h('p', {class: 'muted'}, `cannot list ${path}: ${e.message}`));
    }
  };
  const cat = async (path, size) => {
    if (reader) reader.abort();
    reader = new AbortController();
    const signal = reader.signal;
    ctx.signal.addEventListener('abort', () => reader.abort(), {once: true});
    view.hidden = false;
    view.textContent = '';
    try {
      const r = await api.request(`/v1/client/fs/cat/${api.enc(id)}?path=${api.enc(path)}`, {signal});
      let n = 0;
      await api.readStream(r, signal, (text) => {
        view.append(text);
        n += text.length;
        return n < CAT_LIMIT;
      });
      if (size > CAT_LIMIT) view.append(`\n… (${fmtBytes(size)} in all; the first 1 MiB is shown)`);
    } catch (e) {
      if (!signal.aborted) view.textContent = `cannot read ${path}: ${e.message}`;
    }
  };
  open('/');
}

function crumbs(el, path, open) {
  const parts = path.split('/').filter((p) => p);
  const link = (label, to) => h('a', {href: '#', onclick: (ev) => { ev.preventDefault(); open(to); }}, label);
  fill(el, link('alloc dir', '/'), parts.map((p, i) => [' / ', link(p, `/${parts.slice(0, i + 1).join('/')}`)]));
}
