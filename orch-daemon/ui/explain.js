// Words for what the scheduler reports in numbers: an evaluation's `FailedTGAllocs`
// (why a group could not be placed) and a version's `JobDiff` (what changed).

import {h, plural} from './dom.js';

// A `ConstraintFiltered` key that is a constraint expression (`${attr.kernel.name} =
// windows`), as opposed to a reason (`missing drivers`).
function isConstraint(key) {
  return key.includes('${') || /\s(=|==|!=|<|>|<=|>=|regexp|version|semver|set_contains\w*|is_set|is_not_set|distinct_\w+)(\s|$)/.test(key);
}

function entries(m) {
  return Object.entries(m || {}).sort(([, a], [, b]) => b - a);
}

// The sentences for one group's `AllocationMetric`, most telling first.
export function explainMetric(m) {
  const lines = [];
  const available = entries(m.NodesAvailable);
  const totalAvail = available.reduce((n, [, v]) => n + v, 0);
  if (!m.NodesEvaluated) {
    if (m.NodesInPool === 0 && !totalAvail) lines.push('No nodes are in the job\'s node pool and datacenters.');
    else lines.push('No node was eligible to be evaluated (none ready in the job\'s datacenters and node pool).');
  }
  for (const [dc, n] of available) lines.push(`${plural(n, 'node')} available in datacenter ${dc}.`);
  for (const [key, n] of entries(m.ConstraintFiltered)) {
    lines.push(`${plural(n, 'node')} filtered by ${isConstraint(key) ? 'constraint ' : ''}${key}.`);
  }
  for (const [cls, n] of entries(m.ClassFiltered)) {
    lines.push(`${plural(n, 'node')} of class ${cls || '(none)'} filtered out.`);
  }
  const dims = entries(m.DimensionExhausted);
  for (const [dim, n] of dims) lines.push(`exhausted ${dim} on ${plural(n, 'node')}.`);
  if (m.NodesExhausted && !dims.length) lines.push(`${plural(m.NodesExhausted, 'node')} had no room left.`);
  for (const [cls, n] of entries(m.ClassExhausted)) lines.push(`${plural(n, 'node')} of class ${cls} exhausted.`);
  for (const q of m.QuotaExhausted || []) lines.push(`quota limit reached: ${q}.`);
  if (m.NodesFiltered && !Object.keys(m.ConstraintFiltered || {}).length && !Object.keys(m.ClassFiltered || {}).length) {
    lines.push(`${plural(m.NodesFiltered, 'node')} filtered out.`);
  }
  return lines.map((l) => l.charAt(0).toUpperCase() + l.slice(1));
}

// The placement-failure block of an evaluation: per group, how many allocations did
// not fit and why, in words.
export function placementFailures(ev) {
  return Object.entries(ev.FailedTGAllocs || {}).sort(([a], [b]) => a.localeCompare(b)).map(([group, m]) => {
    const unplaced = (m.CoalescedFailures || 0) + 1;
    return h('div', {class: 'failure', dataset: {group}},
      h('h3', {}, `Group "${group}": ${plural(unplaced, 'allocation')} could not be placed`),
      h('ul', {}, explainMetric(m).map((l) => h('li', {}, l))),
      h('p', {class: 'muted'}, `${plural(m.NodesEvaluated || 0, 'node')} evaluated, ${m.NodesFiltered || 0} filtered, ${m.NodesExhausted || 0} exhausted.`));
  });
}

const MARK = {Added: '+', Deleted: '-', Edited: '~', None: ' '};

function fieldLine(f) {
  const mark = MARK[f.Type] || ' ';
  let value;
  if (f.Type === 'Added') value = JSON.stringify(f.New);
  else if (f.Type === 'Deleted') value = JSON.stringify(f.Old);
  else value = `${JSON.stringify(f.Old)} => ${JSON.stringify(f.New)}`;
  return h('div', {class: `diff-line d-${(f.Type || 'none').toLowerCase()}`}, `${mark} ${f.Name}: ${value}`);
}

function objectBlock(o, depth) {
  return h('div', {class: 'diff-obj', style: `margin-left:${depth}em`},
    h('div', {class: `diff-line d-${(o.Type || 'none').toLowerCase()}`}, `${MARK[o.Type] || ' '} ${o.Name} {`),
    diffBody(o, depth + 1),
    h('div', {class: 'diff-line'}, '  }'));
}

function diffBody(d, depth) {
  return h('div', {style: `margin-left:${depth ? 1 : 0}em`},
    (d.Fields || []).filter((f) => f.Type !== 'None').map(fieldLine),
    (d.Objects || []).filter((o) => o.Type !== 'None').map((o) => objectBlock(o, 0)));
}

// A `JobDiff` as the lines `orch job history -p` prints: + added, - deleted, ~ edited,
// by job, group and task.
export function renderDiff(diff) {
  if (!diff || diff.Type === 'None') return h('p', {class: 'muted'}, 'No changes.');
  const groups = (diff.TaskGroups || []).filter((g) => g.Type !== 'None');
  return h('div', {class: 'diff'},
    diffBody(diff, 0),
    groups.map((g) => h('div', {class: 'diff-obj'},
      h('div', {class: `diff-line d-${g.Type.toLowerCase()}`}, `${MARK[g.Type] || ' '} Task Group: "${g.Name}"`),
      h('div', {style: 'margin-left:1em'}, diffBody(g, 0),
        (g.Tasks || []).filter((t) => t.Type !== 'None').map((t) => h('div', {class: 'diff-obj'},
          h('div', {class: `diff-line d-${t.Type.toLowerCase()}`}, `${MARK[t.Type] || ' '} Task: "${t.Name}"`),
          h('div', {style: 'margin-left:1em'}, diffBody(t, 0))))))));
}
