// Building the page: elements from data without innerHTML (every string the API returns
// becomes a text node, so a job named `<script>` stays text), and the formatting every
// page shares (short IDs, times, sizes, status badges, tables).

// h('a', {href: '/ui/jobs', class: 'x', onclick: fn}, 'text', child, [more]) → Element.
// Attributes: `class`, `on<event>` functions, `dataset` objects, booleans (true sets the
// attribute, false/null leaves it out), anything else through setAttribute.
export function h(tag, attrs, ...children) {
  const svg = SVG_TAGS.has(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && !svg) el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

const SVG_TAGS = new Set(['svg', 'rect', 'path', 'line', 'polyline', 'text', 'g', 'title']);

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// Replaces the contents of `el` with `children`.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// The first 8 characters of a UUID, as Nomad's UI and CLI show IDs.
export function shortId(id) {
  return (id || '').slice(0, 8);
}

// A Unix-nanosecond (or RFC 3339) time as the browser's local date and time.
export function fmtTime(t) {
  if (!t) return '–';
  const d = typeof t === 'number' ? new Date(t / 1e6) : new Date(t);
  if (Number.isNaN(d.getTime()) || d.getFullYear() < 1971) return '–';
  return d.toLocaleString();
}

// How long ago a Unix-nanosecond time was: `12s ago`, `5m ago`, `3h ago`.
export function ago(nanos) {
  if (!nanos) return '–';
  const s = Math.max(0, Math.round((Date.now() - nanos / 1e6) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

// Bytes in the largest unit that keeps the number at least 1.
export function fmtBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n) || 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

// `1 node`, `3 nodes`.
export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// A coloured status word (`running`, `failed`, `ready`, ...).
export function badge(status) {
  const s = String(status || 'unknown');
  return h('span', {class: `badge st-${s.replace(/[^a-z-]/gi, '')}`}, s);
}

// A table: `head` is a list of column titles, `rows` a list of cell lists (each cell a
// string or element); `attrs` go on the table, `rowAttrs(i)` on each row.
export function table(head, rows, attrs = {}, rowAttrs = () => ({})) {
  if (!rows.length) return h('p', {class: 'muted empty'}, attrs.empty || 'None.');
  const {empty, ...rest} = attrs;
  return h('table', rest,
    h('thead', {}, h('tr', {}, head.map((c) => h('th', {}, c)))),
    h('tbody', {}, rows.map((r, i) => h('tr', rowAttrs(i), r.map((c) => h('td', {}, c))))));
}

// A titled section; `id` lets tests and links find it.
export function section(title, id, ...children) {
  return h('section', {class: 'card', id}, h('h2', {}, title), ...children);
}

// `Key  value` rows, Nomad's `Key = Value` blocks for people.
export function kv(pairs) {
  return h('dl', {class: 'kv'}, pairs.filter((p) => p).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

// A job's UI path: `/ui/jobs/<id>@<namespace>`, Nomad's form.
export function jobHref(id, namespace) {
  return `/ui/jobs/${encodeURIComponent(id)}@${encodeURIComponent(namespace || 'default')}`;
}

// Splits Nomad's `<id>@<namespace>` path segment (no `@`: the default namespace).
export function splitJobRef(ref) {
  const s = decodeURIComponent(ref);
  const at = s.lastIndexOf('@');
  return at < 0 ? {id: s, namespace: 'default'} : {id: s.slice(0, at), namespace: s.slice(at + 1)};
}

// A stable colour per name (a job), so one job has one colour on every node.
export function colorFor(name) {
  let x = 0;
  for (const c of String(name)) x = (x * 31 + c.codePointAt(0)) >>> 0;
  return `hsl(${x % 360} 55% 52%)`;
}

// Sums an allocation's reserved CPU (MHz) and memory (MiB) over its tasks.
export function allocUsage(alloc) {
  const ar = alloc.AllocatedResources || {};
  let cpu = 0;
  let mem = 0;
  for (const t of Object.values(ar.Tasks || {})) {
    cpu += (t.Cpu && t.Cpu.CpuShares) || 0;
    mem += (t.Memory && t.Memory.MemoryMB) || 0;
  }
  return {cpu, mem};
}

// Whether an allocation still holds resources on its node.
export function allocLive(a) {
  return a.DesiredStatus === 'run' && (a.ClientStatus === 'pending' || a.ClientStatus === 'running');
}
