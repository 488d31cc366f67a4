// `/ui/jobs/<id>@<namespace>`: one job: its groups with their counts, placement
// failures explained in words, allocations, deployments (promote, fail), evaluations
// and versions with their diffs. One event stream (the job's Job, Allocation,
// Evaluation and Deployment events) reloads it.

import * as api from './api.js';
import {h, fill, table, badge, section, kv, shortId, fmtTime, ago, splitJobRef, plural} from './dom.js';
import {groupCounts} from './jobs.js';
import {placementFailures, renderDiff} from './explain.js';

// Loads everything the page shows, in parallel.
async function load(id, ns, signal) {
  const q = `namespace=${api.enc(ns)}`;
  const base = `/v1/job/${api.enc(id)}`;
  const [job, summary, allocs, evals, deployments, versions] = await Promise.all([
    api.getJSON(`${base}?${q}`, signal),
    api.getJSON(`${base}/summary?${q}`, signal),
    api.getJSON(`${base}/allocations?${q}`, signal),
    api.getJSON(`${base}/evaluations?${q}`, signal),
    api.getJSON(`${base}/deployments?${q}`, signal),
    api.getJSON(`${base}/versions?diffs=true&${q}`, signal),
  ]);
  return {job, summary, allocs, evals, deployments, versions};
}

// The newest evaluation with placement failures, unless a later one placed everything.
export function failingEval(evals) {
  const sorted = [...evals].sort((a, b) => (b.CreateIndex || 0) - (a.CreateIndex || 0));
  for (const ev of sorted) {
    if (Object.keys(ev.FailedTGAllocs || {}).length) return ev;
    if (ev.Status === 'complete') return null;
  }
  return null;
}

function header(job) {
  return h('section', {class: 'card', id: 'job-header'},
    h('div', {class: 'title-row'}, h('h1', {}, job.Name || job.ID), badge(job.Status)),
    kv([['ID', job.ID], ['Namespace', job.Namespace], ['Type', job.Type], ['Priority', String(job.Priority)],
      ['Version', String(job.Version)], ['Datacenters', (job.Datacenters || []).join(', ')],
      ['Node pool', job.NodePool || 'default'], ['Submitted', fmtTime(job.SubmitTime)],
      job.Stop ? ['Stopped', 'yes (stop requested)'] : null]));
}

function groups(job, summary) {
  const sums = (summary && summary.Summary) || {};
  return section('Task groups', 'task-groups', table(['Group', 'Count', 'Tasks', 'Allocations'],
    (job.TaskGroups || []).map((g) => [
      g.Name, String(g.Count),
      (g.Tasks || []).map((t) => h('div', {}, `${t.Name} (${t.Driver}, ${t.Resources ? `${t.Resources.CPU} MHz, ${t.Resources.MemoryMB} MiB` : ''})`)),
      groupCounts(g.Name, sums[g.Name] || {}),
    ])));
}

function failures(evals) {
  const ev = failingEval(evals);
  if (!ev) return null;
  return h('section', {class: 'card warn', id: 'placement-failures'},
    h('h2', {}, 'Placement failures'),
    h('p', {class: 'muted'}, `Evaluation ${shortId(ev.ID)} (triggered by ${ev.TriggeredBy}, ${ev.Status})`,
      ev.Status === 'blocked' || ev.BlockedEval ? ': it is blocked and is tried again when nodes or capacity change.' : '.'),
    placementFailures(ev));
}

// An allocation table, shared with the node page.
export function allocTable(allocs, {showNode = true, showJob = false} = {}) {
  const sorted = [...allocs].sort((a, b) => (b.CreateIndex || 0) - (a.CreateIndex || 0));
  return table(['ID', showJob ? 'Job' : null, 'Group', showNode ? 'Node' : null, 'Status', 'Desired', 'Version', 'Created'].filter((c) => c),
    sorted.map((a) => [
      h('a', {href: `/ui/allocations/${a.ID}`, class: 'alloc-link'}, shortId(a.ID)),
      showJob ? h('a', {href: `/ui/jobs/${api.enc(a.JobID)}@${api.enc(a.Namespace)}`}, a.JobID) : null,
      a.TaskGroup,
      showNode ? h('a', {href: `/ui/clients/${a.NodeID}`}, a.NodeName || shortId(a.NodeID)) : null,
      badge(a.ClientStatus), a.DesiredStatus, String(a.JobVersion), ago(a.CreateTime),
    ].filter((c) => c !== null)), {class: 'list allocs', empty: 'No allocations.'},
    (i) => ({class: 'alloc-row', dataset: {alloc: sorted[i].ID, status: sorted[i].ClientStatus}}));
}

function deploymentActions(d, signal, reload, fail) {
  if (d.Status !== 'running' && d.Status !== 'paused' && d.Status !== 'pending') return null;
  const act = (path, body) => async () => {
    try { await api.send('POST', path, body, signal); reload(); } catch (e) { fail(e); }
  };
  const canaries = Object.values(d.TaskGroups || {}).some((g) => g.DesiredCanaries > 0 && !g.Promoted);
  return h('div', {class: 'actions'},
    canaries ? h('button', {class: 'promote', onclick: act(`/v1/deployment/promote/${d.ID}`, {DeploymentID: d.ID, All: true})}, 'Promote canaries') : null,
    h('button', {class: 'danger fail', onclick: act(`/v1/deployment/fail/${d.ID}`, {DeploymentID: d.ID})}, 'Fail deployment'));
}

function deployments(list, signal, reload, fail) {
  const sorted = [...list].sort((a, b) => (b.CreateIndex || 0) - (a.CreateIndex || 0)).slice(0, 5);
  return section('Deployments', 'deployments', sorted.length ? sorted.map((d) => h('div', {class: 'deployment', dataset: {id: d.ID}},
    h('div', {class: 'title-row'}, h('h3', {}, `Deployment ${shortId(d.ID)} · version ${d.JobVersion}`), badge(d.Status)),
    h('p', {class: 'muted'}, d.StatusDescription || ''),
    table(['Group', 'Desired', 'Canaries', 'Placed', 'Healthy', 'Unhealthy', 'Promoted', 'Auto-revert'],
      Object.entries(d.TaskGroups || {}).map(([g, s]) => [g, String(s.DesiredTotal), String(s.DesiredCanaries || 0),
        String(s.PlacedAllocs), String(s.HealthyAllocs), String(s.UnhealthyAllocs), s.Promoted ? 'yes' : 'no', s.AutoRevert ? 'yes' : 'no'])),
    deploymentActions(d, signal, reload, fail))) : h('p', {class: 'muted'}, 'No deployments (only service jobs with an update block have them).'));
}

function evaluations(evals) {
  const sorted = [...evals].sort((a, b) => (b.CreateIndex || 0) - (a.CreateIndex || 0)).slice(0, 10);
  return section('Evaluations', 'evaluations', table(['ID', 'Triggered by', 'Status', 'Description', 'Placement failures', 'Created'],
    sorted.map((e) => [shortId(e.ID), e.TriggeredBy, badge(e.Status), e.StatusDescription || '',
      Object.keys(e.FailedTGAllocs || {}).length ? plural(Object.keys(e.FailedTGAllocs).length, 'group') : 'none', ago(e.CreateTime)])));
}

function versions(v) {
  const list = v.Versions || [];
  const diffs = v.Diffs || [];
  return section('Versions', 'versions', list.map((job, i) => h('details', {class: 'version', open: i === 0 && list.length > 1},
    h('summary', {}, `Version ${job.Version}`, job.Stable ? h('span', {class: 'badge st-running'}, 'stable') : null,
      h('span', {class: 'muted'}, ` submitted ${fmtTime(job.SubmitTime)}`),
      i < diffs.length ? h('span', {class: 'muted'}, ` · ${countChanges(diffs[i])}`) : null),
    i < diffs.length ? renderDiff(diffs[i]) : h('p', {class: 'muted'}, 'The first version: nothing to compare with.'))));
}

function countChanges(d) {
  let n = 0;
  const walk = (x) => {
    for (const f of x.Fields || []) if (f.Type !== 'None') n++;
    for (const o of x.Objects || []) walk(o);
    for (const g of x.TaskGroups || []) walk(g);
    for (const t of x.Tasks || []) walk(t);
  };
  walk(d);
  return plural(n, 'change');
}

// Draws the page.
export function jobPage(ctx, ref) {
  const {id, namespace} = splitJobRef(ref);
  ctx.title(id);
  const view = h('div', {id: 'job-view'}, h('p', {class: 'muted'}, 'Loading…'));
  ctx.main.append(h('p', {class: 'crumbs'}, h('a', {href: '/ui/jobs'}, 'Jobs'), ' / ', id), view);
  let reload = null;
  const draw = async () => {
    const d = await load(id, namespace, ctx.signal);
    if (ctx.signal.aborted) return;
    const open = new Set([...view.querySelectorAll('details[open]')].map((e) => e.querySelector('summary').textContent));
    fill(view, header(d.job), failures(d.evals), groups(d.job, d.summary),
      section('Allocations', 'allocations', allocTable(d.allocs)),
      deployments(d.deployments, ctx.signal, reload, ctx.error), evaluations(d.evals), versions(d.versions));
    if (open.size) for (const det of view.querySelectorAll('details')) det.open = open.has(det.querySelector('summary').textContent);
  };
  reload = () => draw().catch(ctx.fail);
  ctx.live([`Job:${id}`, `Allocation:${id}`, `Evaluation:${id}`, `Deployment:${id}`], namespace, draw);
}
