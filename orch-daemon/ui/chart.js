// Resource usage over time: polls `/v1/client/allocation/<id>/stats` while the
// allocation runs and draws CPU (MHz, Nomad's `TotalTicks`) and memory (RSS) against
// what the allocation reserved, as SVG line charts of the last few minutes.

import * as api from './api.js';
import {h, fill, section, fmtBytes} from './dom.js';

const SAMPLES = 90; // at one per 2 s: three minutes
const W = 560;
const H = 120;

// One line chart: `points` are [time ms, value]; `limit` is the reserved amount (the
// dashed line and the top of the scale unless usage goes past it).
function lineChart(title, points, limit, unit, fmt) {
  const last = points.length ? points[points.length - 1][1] : 0;
  const max = Math.max(limit || 0, ...points.map((p) => p[1]), 1);
  const t0 = points.length ? points[0][0] : 0;
  const span = Math.max(points.length ? points[points.length - 1][0] - t0 : 1, 1);
  const x = (t) => (points.length < 2 ? W : ((t - t0) / span) * W);
  const y = (v) => H - (v / max) * (H - 4);
  const line = points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
  return h('div', {class: 'chart'},
    h('div', {class: 'chart-title'}, h('strong', {}, title), ` ${fmt(last)}${limit ? ` of ${fmt(limit)} reserved (${Math.round((100 * last) / limit)}%)` : ''}`),
    h('svg', {viewBox: `0 0 ${W} ${H}`, width: '100%', height: H, preserveAspectRatio: 'none', class: 'chart-svg', role: 'img', 'aria-label': `${title} over time`},
      h('rect', {x: 0, y: 0, width: W, height: H, class: 'chart-bg'}),
      limit ? h('line', {x1: 0, x2: W, y1: y(limit), y2: y(limit), class: 'chart-limit'}) : null,
      points.length ? h('polyline', {points: `0,${H} ${line} ${x(points[points.length - 1][0]).toFixed(1)},${H}`, class: 'chart-area'}) : null,
      points.length ? h('polyline', {points: line, class: 'chart-line'}) : null),
    h('div', {class: 'muted small'}, points.length ? `${points.length} samples, ${unit}` : 'waiting for the first sample…'));
}

// Starts the chart in `el`; `reserved` is {cpu, mem}, `isLive()` whether to keep polling.
export function statsChart(el, ctx, id, reserved, isLive) {
  const cpu = [];
  const mem = [];
  const body = h('div', {class: 'charts'});
  const note = h('p', {class: 'muted', id: 'stats-note'});
  fill(el, section('Resource usage', 'resource-usage', note, body));
  const draw = () => fill(body,
    lineChart('CPU', cpu, reserved.cpu, 'MHz', (v) => `${Math.round(v)} MHz`),
    lineChart('Memory', mem, reserved.mem * 1024 * 1024, 'bytes', fmtBytes));
  draw();
  (async () => {
    while (!ctx.signal.aborted) {
      if (isLive()) {
        try {
          const s = await api.getJSON(`/v1/client/allocation/${api.enc(id)}/stats`, ctx.signal);
          const ru = s.ResourceUsage || {};
          const t = s.Timestamp ? s.Timestamp / 1e6 : Date.now();
          cpu.push([t, (ru.CpuStats && ru.CpuStats.TotalTicks) || 0]);
          mem.push([t, (ru.MemoryStats && (ru.MemoryStats.RSS || ru.MemoryStats.Usage)) || 0]);
          if (cpu.length > SAMPLES) { cpu.shift(); mem.shift(); }
          fill(note);
          draw();
        } catch (e) {
          if (ctx.signal.aborted) return;
          if (e.status === 403) { ctx.fail(e); return; }
          fill(note, `No usage figures: ${e.message}`);
        }
      } else {
        fill(note, 'The allocation is not running: no usage to sample.');
      }
      await api.pause(2000, ctx.signal);
    }
  })();
}
