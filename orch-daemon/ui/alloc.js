// `/ui/allocations/<id>`: one allocation: where it runs, each task's state and events
// (reloaded from the event stream), resource usage over time (chart.js), the task logs
// followed live and the allocation directory's files (alloc_io.js).

import * as api from './api.js';
import {h, fill, table, badge, section, kv, shortId, fmtTime, jobHref, allocUsage} from './dom.js';
import {statsChart} from './chart.js';
import {logView, fileBrowser} from './alloc_io.js';

function header(a) {
  const {cpu, mem} = allocUsage(a);
  return h('section', {class: 'card', id: 'alloc-header'},
    h('div', {class: 'title-row'}, h('h1', {}, a.Name), badge(a.ClientStatus)),
    kv([['ID', a.ID],
      ['Job', h('a', {href: jobHref(a.JobID, a.Namespace)}, `${a.JobID} (version ${a.Job ? a.Job.Version : '?'})`)],
      ['Task group', a.TaskGroup],
      ['Node', h('a', {href: `/ui/clients/${a.NodeID}`}, a.NodeName || shortId(a.NodeID))],
      ['Client status', `${a.ClientStatus}${a.ClientDescription ? ` (${a.ClientDescription})` : ''}`],
      ['Desired status', `${a.DesiredStatus}${a.DesiredDescription ? ` (${a.DesiredDescription})` : ''}`],
      ['Reserved', `${cpu} MHz CPU, ${mem} MiB memory`],
      ['Created', fmtTime(a.CreateTime)],
      a.PreviousAllocation ? ['Replaces', h('a', {href: `/ui/allocations/${a.PreviousAllocation}`}, shortId(a.PreviousAllocation))] : null,
      a.NextAllocation ? ['Replaced by', h('a', {href: `/ui/allocations/${a.NextAllocation}`}, shortId(a.NextAllocation))] : null]));
}

// Each task: its state, restarts, times and newest events first.
function taskStates(a) {
  const tasks = Object.entries(a.TaskStates || {}).sort(([x], [y]) => x.localeCompare(y));
  if (!tasks.length) return section('Tasks', 'task-states', h('p', {class: 'muted'}, 'No task has reported yet (the client has not started the allocation).'));
  return section('Tasks', 'task-states', tasks.map(([name, ts]) => h('div', {class: 'task', id: `task-${name}`, dataset: {task: name, state: ts.State}},
    h('div', {class: 'title-row'}, h('h3', {}, name), h('span', {class: 'task-state'}, badge(ts.State)), ts.Failed ? badge('failed') : null),
    kv([['Started', fmtTime(ts.StartedAt)], ['Finished', fmtTime(ts.FinishedAt)], ['Restarts', String(ts.Restarts || 0)]]),
    table(['Time', 'Type', 'Description'], [...(ts.Events || [])].reverse().slice(0, 20).map((e) => [
      fmtTime(e.Time), e.Type, e.DisplayMessage || e.Message || e.DriverError || e.KillError || '',
    ]), {class: 'events', empty: 'No events.'}))));
}

// Draws the page.
export function allocPage(ctx, id) {
  ctx.title(`Allocation ${shortId(id)}`);
  const top = h('div', {id: 'alloc-top'}, h('p', {class: 'muted'}, 'Loading…'));
  const stats = h('div', {id: 'alloc-stats'});
  const logs = h('div', {id: 'alloc-logs'});
  const files = h('div', {id: 'alloc-files'});
  ctx.main.append(h('p', {class: 'crumbs'}, h('a', {href: '/ui/jobs'}, 'Jobs'), ' / ', h('span', {id: 'crumb-job'}), ' / ', shortId(id)),
    top, stats, logs, files);
  let started = false;
  let live = null;
  const load = async () => {
    const a = await api.getJSON(`/v1/allocation/${api.enc(id)}`, ctx.signal);
    if (ctx.signal.aborted) return;
    fill(document.getElementById('crumb-job') || h('span'), h('a', {href: jobHref(a.JobID, a.Namespace)}, a.JobID));
    fill(top, header(a), taskStates(a));
    live = a.ClientStatus === 'running' || a.ClientStatus === 'pending';
    if (!started) {
      started = true;
      const tasks = Object.keys((a.AllocatedResources && a.AllocatedResources.Tasks) || a.TaskStates || {}).sort();
      statsChart(stats, ctx, id, allocUsage(a), () => live);
      logView(logs, ctx, id, tasks);
      fileBrowser(files, ctx, id);
    }
  };
  ctx.live([`Allocation:${id}`], '*', load);
}
