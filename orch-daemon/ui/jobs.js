// `/ui/jobs`: every job the token may list (all namespaces), with a filter, its status
// and per-group allocation counts, kept current by a blocking query on `/v1/jobs`.

import {h, fill, table, badge, jobHref} from './dom.js';

const COUNTS = ['Queued', 'Starting', 'Running', 'Complete', 'Failed', 'Lost', 'Unknown'];

// One group's counts as a stacked bar and words (`2 running, 1 queued`).
export function groupCounts(name, s) {
  const total = COUNTS.reduce((n, k) => n + (s[k] || 0), 0);
  const parts = COUNTS.filter((k) => s[k]);
  const bar = h('span', {class: 'stack', title: `${name}: ${parts.map((k) => `${s[k]} ${k.toLowerCase()}`).join(', ')}`},
    parts.map((k) => h('span', {class: `seg c-${k.toLowerCase()}`, style: `width:${(100 * s[k]) / (total || 1)}%`})));
  return h('div', {class: 'group-count'}, h('span', {class: 'gname'}, name), bar,
    h('span', {class: 'muted'}, parts.length ? parts.map((k) => `${s[k]} ${k.toLowerCase()}`).join(', ') : 'no allocations'));
}

// A periodic or parameterized job runs as children: their counts.
function children(j) {
  const c = (j.JobSummary && j.JobSummary.Children) || {};
  return h('span', {class: 'muted'}, `${j.Periodic ? 'periodic' : 'parameterized'}; children: ${c.Pending || 0} pending, ${c.Running || 0} running, ${c.Dead || 0} dead`);
}

function matches(job, text, status, type) {
  if (status && job.Status !== status) return false;
  if (type && job.Type !== type) return false;
  if (!text) return true;
  const t = text.toLowerCase();
  return job.ID.toLowerCase().includes(t) || (job.Name || '').toLowerCase().includes(t) || (job.Namespace || '').includes(t);
}

// Draws the list page.
export function jobsPage(ctx) {
  ctx.title('Jobs');
  let jobs = null;
  const search = h('input', {type: 'search', id: 'job-filter', placeholder: 'Filter by ID or name', value: ctx.query.get('search') || ''});
  const status = h('select', {id: 'job-status-filter'},
    ['', 'pending', 'running', 'dead'].map((s) => h('option', {value: s}, s || 'any status')));
  const type = h('select', {id: 'job-type-filter'},
    ['', 'service', 'batch', 'system', 'sysbatch'].map((s) => h('option', {value: s}, s || 'any type')));
  const body = h('div', {id: 'jobs-table'}, h('p', {class: 'muted'}, 'Loading…'));
  const draw = () => {
    if (!jobs) return;
    const shown = jobs.filter((j) => matches(j, search.value.trim(), status.value, type.value))
      .sort((a, b) => a.ID.localeCompare(b.ID));
    fill(body, table(['Job', 'Namespace', 'Type', 'Priority', 'Status', 'Groups'],
      shown.map((j) => [
        h('a', {href: jobHref(j.ID, j.Namespace), class: 'job-link'}, j.Name || j.ID),
        j.Namespace, j.Type, String(j.Priority), badge(j.Status),
        (j.Periodic || j.ParameterizedJob) ? children(j) : Object.entries((j.JobSummary && j.JobSummary.Summary) || {})
          .sort(([a], [b]) => a.localeCompare(b)).map(([g, s]) => groupCounts(g, s)),
      ]), {class: 'list', id: 'jobs', empty: jobs.length ? 'No job matches the filter.' : 'No jobs yet: run one with `orch job run`.'},
      (i) => ({dataset: {job: shown[i].ID}, class: 'job-row'})));
  };
  for (const el of [search, status, type]) el.addEventListener('input', draw);
  ctx.main.append(h('section', {class: 'card'},
    h('div', {class: 'title-row'}, h('h1', {}, 'Jobs'), h('div', {class: 'filters'}, search, status, type)), body));
  ctx.watch('/v1/jobs?namespace=*', (data) => { jobs = data; draw(); });
}
