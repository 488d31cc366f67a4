// `/ui/clients` and `/ui/clients/<id>`: the client nodes, their status, scheduling
// eligibility, drain and allocations; on a node's page, eligibility and drain can be
// changed. Blocking queries on the node and allocation lists keep both current.

import * as api from './api.js';
import {h, fill, table, badge, section, kv, shortId, plural, allocUsage, allocLive} from './dom.js';
import {allocTable} from './job.js';
import {usageBars} from './topology.js';

// Draws the node list.
export function nodesPage(ctx) {
  ctx.title('Clients');
  let nodes = null;
  let allocs = [];
  const body = h('div', {id: 'nodes-table'}, h('p', {class: 'muted'}, 'Loading…'));
  ctx.main.append(section('Clients', 'clients', body));
  const draw = () => {
    if (!nodes) return;
    const live = new Map();
    for (const a of allocs) if (allocLive(a)) live.set(a.NodeID, (live.get(a.NodeID) || 0) + 1);
    const sorted = [...nodes].sort((a, b) => a.Name.localeCompare(b.Name));
    fill(body, table(['ID', 'Name', 'Datacenter', 'Class', 'Address', 'Status', 'Eligibility', 'Drain', 'Allocations'],
      sorted.map((n) => [
        h('a', {href: `/ui/clients/${n.ID}`, class: 'node-link'}, shortId(n.ID)), n.Name, n.Datacenter, n.NodeClass || '–',
        n.Address, badge(n.Status), n.SchedulingEligibility, n.Drain ? 'draining' : 'no', String(live.get(n.ID) || 0),
      ]), {class: 'list', id: 'nodes', empty: 'No client nodes have registered.'},
      (i) => ({class: 'node-row', dataset: {node: sorted[i].ID}})));
  };
  ctx.watch('/v1/nodes', (d) => { nodes = d; draw(); });
  ctx.watch('/v1/allocations?namespace=*&task_states=false', (d) => { allocs = d; draw(); });
}

function actions(ctx, n) {
  const act = (path, bodyFn) => async () => {
    try { await api.send('POST', path, bodyFn(), ctx.signal); ctx.ok(); } catch (e) { ctx.error(e); }
  };
  const eligible = n.SchedulingEligibility === 'eligible';
  const deadline = h('input', {type: 'text', id: 'drain-deadline', value: '1h', size: 6, title: 'Go duration: 30m, 1h, 0 for no deadline'});
  const draining = n.Drain || (n.DrainStrategy && n.DrainStrategy !== null);
  return h('div', {class: 'actions', id: 'node-actions'},
    h('button', {id: 'toggle-eligibility', onclick: act(`/v1/node/${n.ID}/eligibility`, () => ({NodeID: n.ID, Eligibility: eligible ? 'ineligible' : 'eligible'}))},
      eligible ? 'Mark ineligible' : 'Mark eligible'),
    draining
      ? h('button', {id: 'drain-stop', onclick: act(`/v1/node/${n.ID}/drain`, () => ({NodeID: n.ID, DrainSpec: null, MarkEligible: true}))}, 'Stop drain')
      : h('span', {}, h('button', {class: 'danger', id: 'drain-start', onclick: act(`/v1/node/${n.ID}/drain`, () => ({NodeID: n.ID, DrainSpec: {Deadline: goDuration(deadline.value), IgnoreSystemJobs: false}}))}, 'Drain'),
        ' deadline ', deadline));
}

// A Go duration (`90s`, `1h30m`) in nanoseconds; 0 when empty or unreadable.
export function goDuration(s) {
  const units = {ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9};
  let total = 0;
  for (const [, n, u] of String(s).trim().matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(n) * units[u];
  return Math.round(total);
}

function details(n) {
  const attr = n.Attributes || {};
  const drivers = Object.entries(n.Drivers || {}).filter(([, d]) => d.Detected)
    .map(([name, d]) => `${name}${d.Healthy ? '' : ' (unhealthy)'}`).join(', ');
  return kv([['ID', n.ID], ['Name', n.Name], ['Datacenter', n.Datacenter], ['Node pool', n.NodePool || 'default'],
    ['Class', n.NodeClass || '–'], ['Address', n.HTTPAddr || attr['unique.network.ip-address'] || '–'],
    ['Status', badge(n.Status)], ['Status description', n.StatusDescription || '–'],
    ['Eligibility', n.SchedulingEligibility], ['Drain', n.Drain ? `draining${n.DrainStrategy && n.DrainStrategy.ForceDeadline ? ` until ${n.DrainStrategy.ForceDeadline}` : ''}` : 'no'],
    ['OS', `${attr['os.name'] || ''} ${attr['os.version'] || ''} (${attr['kernel.name'] || ''} ${attr['kernel.version'] || ''})`],
    ['CPU', `${attr['cpu.numcores'] || '?'} cores, ${attr['cpu.totalcompute'] || '?'} MHz`],
    ['Drivers', drivers || '–']]);
}

// Draws one node's page.
export function nodePage(ctx, id) {
  ctx.title(`Client ${shortId(id)}`);
  const top = h('div', {id: 'node-top'}, h('p', {class: 'muted'}, 'Loading…'));
  const allocBox = h('div', {id: 'node-allocs'});
  ctx.main.append(h('p', {class: 'crumbs'}, h('a', {href: '/ui/clients'}, 'Clients'), ' / ', shortId(id)), top,
    section('Allocations', 'node-allocations', allocBox));
  let node = null;
  let allocs = [];
  const drawTop = () => {
    if (!node) return;
    const live = allocs.filter(allocLive);
    fill(top, h('section', {class: 'card', id: 'node-header'},
      h('div', {class: 'title-row'}, h('h1', {}, node.Name), badge(node.Status)),
      actions(ctx, node), details(node),
      h('h3', {}, `Reserved by ${plural(live.length, 'running allocation')}`),
      usageBars(node, live.map((a) => ({alloc: a, ...allocUsage(a)})))));
  };
  ctx.watch(`/v1/node/${api.enc(id)}`, (n) => { node = n; drawTop(); });
  ctx.watch(`/v1/node/${api.enc(id)}/allocations`, (d) => {
    allocs = d;
    fill(allocBox, allocTable(d, {showNode: false, showJob: true}));
    drawTop();
  });
}
