// `/ui/topology`: every client node as a box filled by its allocations, one bar for
// CPU and one for memory, each allocation a segment as wide as its share of the node
// (coloured by job), the node's own reserved share hatched: what a person looks at to
// see how well work is packed. Reloaded from the Node and Allocation events.

import * as api from './api.js';
import {h, fill, badge, section, plural, colorFor, allocUsage, allocLive, shortId} from './dom.js';

// A node's schedulable capacity and its own reserved share: {cpu MHz, mem MiB}.
export function capacity(n) {
  const nr = n.NodeResources || {};
  const rr = n.ReservedResources || {};
  const legacy = n.Resources || {};
  return {
    cpu: (nr.Cpu && nr.Cpu.CpuShares) || legacy.CPU || 0,
    mem: (nr.Memory && nr.Memory.MemoryMB) || legacy.MemoryMB || 0,
    resCpu: (rr.Cpu && rr.Cpu.CpuShares) || 0,
    resMem: (rr.Memory && rr.Memory.MemoryMB) || 0,
  };
}

function pct(part, whole) {
  return whole > 0 ? Math.min(100, (100 * part) / whole) : 0;
}

// One bar: the node's reserved share, then a segment per allocation.
function bar(kind, total, reserved, items, key, unit) {
  const used = items.reduce((n, it) => n + it[key], 0);
  const segs = items.map((it) => h('a', {
    class: 'seg alloc-seg', href: `/ui/allocations/${it.alloc.ID}`,
    style: `width:${pct(it[key], total)}%;background:${colorFor(it.alloc.JobID)}`,
    title: `${it.alloc.Name} (${shortId(it.alloc.ID)}): ${it[key]} ${unit}`,
    dataset: {alloc: it.alloc.ID},
  }));
  return h('div', {class: `usage usage-${kind}`},
    h('div', {class: 'usage-label'}, h('strong', {}, kind === 'cpu' ? 'CPU' : 'Memory'),
      ` ${used} / ${total - reserved} ${unit} · ${Math.round(pct(used, total - reserved))}%`),
    h('div', {class: 'bar', dataset: {used, total}},
      reserved ? h('span', {class: 'seg reserved', style: `width:${pct(reserved, total)}%`, title: `reserved by the node: ${reserved} ${unit}`}) : null,
      segs));
}

// The CPU and memory bars of one node; `items` are {alloc, cpu, mem}.
export function usageBars(node, items) {
  const c = capacity(node);
  const sorted = [...items].sort((a, b) => a.alloc.JobID.localeCompare(b.alloc.JobID) || a.alloc.Name.localeCompare(b.alloc.Name));
  return h('div', {class: 'usage-bars'},
    bar('cpu', c.cpu, c.resCpu, sorted, 'cpu', 'MHz'),
    bar('mem', c.mem, c.resMem, sorted, 'mem', 'MiB'));
}

function nodeBox(n, items) {
  return h('div', {class: `node-box status-${n.Status}`, dataset: {node: n.ID}},
    h('div', {class: 'title-row'},
      h('a', {href: `/ui/clients/${n.ID}`, class: 'node-name'}, n.Name), badge(n.Status),
      n.SchedulingEligibility !== 'eligible' ? h('span', {class: 'badge st-ineligible'}, 'ineligible') : null,
      n.Drain ? h('span', {class: 'badge st-draining'}, 'draining') : null),
    h('div', {class: 'muted small'}, `${n.Datacenter} · ${n.NodeClass || 'no class'} · ${plural(items.length, 'allocation')}`),
    usageBars(n, items));
}

function summary(nodes, byNode) {
  let cpu = 0; let mem = 0; let usedCpu = 0; let usedMem = 0; let count = 0;
  for (const n of nodes) {
    const c = capacity(n);
    cpu += c.cpu - c.resCpu;
    mem += c.mem - c.resMem;
    for (const it of byNode.get(n.ID) || []) { usedCpu += it.cpu; usedMem += it.mem; count++; }
  }
  return h('p', {id: 'topology-summary'},
    `${plural(nodes.length, 'client')}, ${plural(count, 'running allocation')}: `,
    `CPU ${usedCpu} / ${cpu} MHz (${Math.round(pct(usedCpu, cpu))}%), memory ${usedMem} / ${mem} MiB (${Math.round(pct(usedMem, mem))}%).`);
}

function legend(items, reserved) {
  const jobs = [...new Set(items.map((it) => `${it.alloc.JobID}`))].sort();
  return h('div', {class: 'legend'}, jobs.map((j) => h('span', {class: 'legend-item'},
    h('span', {class: 'swatch', style: `background:${colorFor(j)}`}), j)),
  reserved ? h('span', {class: 'legend-item'}, h('span', {class: 'swatch reserved'}), 'reserved by the node') : null);
}

// Draws the page.
export function topologyPage(ctx) {
  ctx.title('Topology');
  const body = h('div', {id: 'topology'}, h('p', {class: 'muted'}, 'Loading…'));
  ctx.main.append(section('Topology', 'topology-card',
    h('p', {class: 'muted'}, 'Each client node, filled by the CPU and memory its running allocations reserve.'), body));
  ctx.live(['Node:*', 'Allocation:*'], '*', async () => {
    const [nodes, allocs] = await Promise.all([
      api.getJSON('/v1/nodes?resources=true', ctx.signal),
      api.getJSON('/v1/allocations?namespace=*&resources=true&task_states=false', ctx.signal),
    ]);
    const byNode = new Map();
    const all = [];
    for (const a of allocs.filter(allocLive)) {
      const it = {alloc: a, ...allocUsage(a)};
      all.push(it);
      if (!byNode.has(a.NodeID)) byNode.set(a.NodeID, []);
      byNode.get(a.NodeID).push(it);
    }
    const dcs = [...new Set(nodes.map((n) => n.Datacenter))].sort();
    const reserved = nodes.some((n) => capacity(n).resCpu || capacity(n).resMem);
    fill(body, summary(nodes, byNode), legend(all, reserved),
      nodes.length ? dcs.map((dc) => h('div', {class: 'dc'}, h('h3', {}, `Datacenter ${dc}`),
        h('div', {class: 'node-grid'}, nodes.filter((n) => n.Datacenter === dc).sort((a, b) => a.Name.localeCompare(b.Name))
          .map((n) => nodeBox(n, byNode.get(n.ID) || [])))))
        : h('p', {class: 'muted'}, 'No client nodes have registered.'));
  });
}
