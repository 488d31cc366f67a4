// The cluster-wide pages: servers (Raft peers and the leader), the service catalog,
// CSI volumes and plugins, and scaling policies with the autoscaler's last decisions.

import * as api from './api.js';
import {h, fill, table, badge, section, shortId, fmtTime, ago, jobHref, splitJobRef} from './dom.js';

// `/ui/servers`: the Raft configuration (polled: it has no blocking query) and members.
export function serversPage(ctx) {
  ctx.title('Servers');
  const body = h('div', {id: 'servers'}, h('p', {class: 'muted'}, 'Loading…'));
  ctx.main.append(section('Servers', 'servers-card', body));
  ctx.poll(3000, async () => {
    const [raft, leader, members] = await Promise.all([
      api.getJSON('/v1/operator/raft/configuration', ctx.signal),
      api.getJSON('/v1/status/leader', ctx.signal),
      api.getJSON('/v1/agent/members', ctx.signal).catch(() => ({Members: []})),
    ]);
    const byAddr = new Map((members.Members || []).map((m) => [`${m.Addr}:${m.Port}`, m]));
    fill(body, h('p', {id: 'leader'}, leader ? `Leader: ${leader}` : 'No leader is known: the cluster cannot take writes.'),
      table(['Name', 'Raft ID', 'Address', 'Leader', 'Voter', 'Healthy', 'Last contact', 'Member status'], (raft.Servers || []).map((s) => {
        const m = byAddr.get(s.Address);
        return [m ? m.Name : s.Node, s.ID, s.Address, s.Leader ? badge('leader') : '', s.Voter ? 'yes' : 'no',
          s.Healthy === undefined ? '–' : (s.Healthy ? 'yes' : 'no'), s.LastContact || '–', m ? badge(m.Status) : '–'];
      }), {class: 'list', id: 'raft-peers'}, () => ({class: 'server-row'})));
  });
}

// `/ui/services`: every service name of the `nomad` provider's catalog.
export function servicesPage(ctx) {
  ctx.title('Services');
  const body = h('div', {id: 'services'}, h('p', {class: 'muted'}, 'Loading…'));
  ctx.main.append(section('Services', 'services-card', body));
  ctx.watch('/v1/services?namespace=*', (d) => {
    const rows = [];
    for (const ns of d || []) {
      for (const s of ns.Services || []) rows.push([h('a', {href: `/ui/services/${api.enc(s.ServiceName)}@${api.enc(ns.Namespace)}`}, s.ServiceName), ns.Namespace, (s.Tags || []).join(', ')]);
    }
    fill(body, table(['Service', 'Namespace', 'Tags'], rows, {class: 'list', empty: 'No services registered (a task with a `service` block using provider "nomad" registers one).'}));
  });
}

// `/ui/services/<name>@<namespace>`: the service's registrations.
export function servicePage(ctx, ref) {
  const {id: name, namespace} = splitJobRef(ref);
  ctx.title(name);
  const body = h('div', {id: 'service'}, h('p', {class: 'muted'}, 'Loading…'));
  ctx.main.append(h('p', {class: 'crumbs'}, h('a', {href: '/ui/services'}, 'Services'), ' / ', name), section(`Service ${name}`, 'service-card', body));
  ctx.watch(`/v1/service/${api.enc(name)}?namespace=${api.enc(namespace)}`, (regs) => {
    fill(body, table(['ID', 'Address', 'Job', 'Allocation', 'Node', 'Tags'], (regs || []).map((r) => [
      r.ID, `${r.Address}:${r.Port}`, h('a', {href: jobHref(r.JobID, r.Namespace)}, r.JobID),
      h('a', {href: `/ui/allocations/${r.AllocID}`}, shortId(r.AllocID)), h('a', {href: `/ui/clients/${r.NodeID}`}, shortId(r.NodeID)),
      (r.Tags || []).join(', '),
    ]), {class: 'list'}));
  });
}

function csiTabs(active) {
  return h('div', {class: 'tabs'},
    h('a', {href: '/ui/csi/volumes', class: active === 'volumes' ? 'active' : ''}, 'Volumes'),
    h('a', {href: '/ui/csi/plugins', class: active === 'plugins' ? 'active' : ''}, 'Plugins'));
}

// `/ui/csi/volumes`: registered CSI volumes, their plugin and claims.
export function volumesPage(ctx) {
  ctx.title('Volumes');
  const body = h('div', {id: 'volumes'}, h('p', {class: 'muted'}, 'Loading…'));
  ctx.main.append(csiTabs('volumes'), section('CSI volumes', 'volumes-card', body));
  ctx.watch('/v1/volumes?type=csi&namespace=*', (d) => {
    fill(body, table(['ID', 'Name', 'Namespace', 'Plugin', 'Schedulable', 'Access mode', 'Claims (read / write)', 'Provider'], (d || []).map((v) => [
      v.ID, v.Name, v.Namespace, v.PluginID, v.Schedulable ? 'yes' : 'no', v.AccessMode || '–',
      `${Object.keys(v.ReadAllocs || {}).length} / ${Object.keys(v.WriteAllocs || {}).length}`, v.Provider || '–',
    ]), {class: 'list', empty: 'No CSI volumes are registered (`orch volume register`).'}));
  });
}

// `/ui/csi/plugins`: CSI plugins and how many of their controllers and nodes are healthy.
export function pluginsPage(ctx) {
  ctx.title('Plugins');
  const body = h('div', {id: 'plugins'}, h('p', {class: 'muted'}, 'Loading…'));
  ctx.main.append(csiTabs('plugins'), section('CSI plugins', 'plugins-card', body));
  ctx.watch('/v1/plugins?type=csi', (d) => {
    fill(body, table(['ID', 'Provider', 'Version', 'Controllers healthy', 'Nodes healthy'], (d || []).map((p) => [
      p.ID, p.Provider || '–', p.Version || '–', `${p.ControllersHealthy} / ${p.ControllersExpected}`, `${p.NodesHealthy} / ${p.NodesExpected}`,
    ]), {class: 'list', empty: 'No CSI plugins are running (a job with a csi_plugin block starts one).'}));
  });
}

// The newest scaling events of a policy's group (`/v1/job/:id/scale`).
function lastEvents(scale, group) {
  const g = (scale && scale.TaskGroups && scale.TaskGroups[group]) || {};
  return (g.Events || []).slice(0, 3).map((e) => h('div', {class: 'small'},
    `${ago(e.Time)}: ${e.Message || ''}${e.Count !== undefined && e.Count !== null ? ` (${e.PreviousCount} → ${e.Count})` : ''}${e.Error ? ' (error)' : ''}`));
}

// `/ui/scaling`: every scaling policy, its bounds, the autoscaler's status and the
// group's last scaling events.
export function scalingPage(ctx) {
  ctx.title('Scaling');
  const body = h('div', {id: 'scaling'}, h('p', {class: 'muted'}, 'Loading…'));
  ctx.main.append(section('Scaling policies', 'scaling-card', body));
  const load = async () => {
    const list = await api.getJSON('/v1/scaling/policies?namespace=*', ctx.signal);
    const rows = await Promise.all((list || []).map(async (p) => {
      const t = p.Target || {};
      const [full, scale] = await Promise.all([
        api.getJSON(`/v1/scaling/policy/${api.enc(p.ID)}`, ctx.signal),
        api.getJSON(`/v1/job/${api.enc(t.Job)}/scale?namespace=${api.enc(t.Namespace || 'default')}`, ctx.signal).catch(() => null),
      ]);
      const st = full.Status || {};
      return [h('a', {href: jobHref(t.Job, t.Namespace)}, `${t.Job} / ${t.Group}`), p.Enabled ? 'yes' : 'no', `${full.Min} – ${full.Max}`,
        h('div', {}, badge(st.State || 'unknown'), ` ${st.Reason || ''}`, st.LastError ? h('div', {class: 'error small'}, st.LastError) : null),
        st.LastEvaluated ? fmtTime(st.LastEvaluated) : '–', lastEvents(scale, t.Group)];
    }));
    fill(body, table(['Target', 'Enabled', 'Min – max', 'Autoscaler', 'Last evaluated', 'Last scaling events'], rows,
      {class: 'list', empty: 'No scaling policies (a group with a `scaling` block has one).'}));
  };
  // Job events: a registration changes the policies, a scale adds an event; the
  // autoscaler's status lives in the leader's memory (no event), so poll it too.
  ctx.live(['Job:*'], '*', load);
  ctx.poll(10000, load);
}
