// The UI's only way to the cluster: Nomad's `/v1` API on this agent, by relative URL
// (so it works over TLS and behind the same origin), with the ACL token the user gave
// (kept in localStorage, sent as `X-Nomad-Token`). Every call takes the page's
// AbortSignal: navigating away aborts what is in flight, long polls and streams too.

const TOKEN_KEY = 'orch.aclToken';

// The stored ACL token's secret, or ''.
export function token() {
  try { return localStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

// Stores (or with '' forgets) the ACL token's secret.
export function setToken(secret) {
  if (secret) localStorage.setItem(TOKEN_KEY, secret);
  else localStorage.removeItem(TOKEN_KEY);
}

// A failed call: the HTTP status (0: no answer) and the agent's error text.
export class ApiError extends Error {
  constructor(status, text, path) {
    super(status ? `${status}: ${text.trim() || 'error'} (${path})` : `${text} (${path})`);
    this.status = status;
    this.text = text;
    this.path = path;
  }
}

// One request; resolves to the Response when it is 2xx, else throws an ApiError.
export async function request(path, {method = 'GET', body, signal} = {}) {
  const headers = {};
  const t = token();
  if (t) headers['X-Nomad-Token'] = t;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let r;
  try {
    r = await fetch(path, {method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, `agent unreachable: ${e.message}`, path);
  }
  if (!r.ok) throw new ApiError(r.status, await r.text().catch(() => ''), path);
  return r;
}

// GET → {data, index}: the JSON body and its `X-Nomad-Index`.
export async function get(path, signal) {
  const r = await request(path, {signal});
  return {data: await r.json(), index: Number(r.headers.get('X-Nomad-Index') || 0)};
}

// GET → the JSON body.
export async function getJSON(path, signal) {
  return (await get(path, signal)).data;
}

// A write (`PUT`/`POST`/`DELETE`) with a JSON body → the JSON answer (or null).
export async function send(method, path, body, signal) {
  const r = await request(path, {method, body, signal});
  const text = await r.text();
  return text ? JSON.parse(text) : null;
}

// Resolves after `ms`, or at once when `signal` aborts.
export function pause(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, {once: true});
  });
}

// Nomad's blocking query loop: calls `onData(data, index)` with the answer, then again
// each time `X-Nomad-Index` moves (`?index=N&wait=`), until `signal` aborts. Errors go
// to `onError` and the loop retries with a growing delay; a 403 stops it (the page
// shows the login prompt instead).
export async function watch(path, signal, onData, onError) {
  let index = 0;
  let delay = 500;
  const sep = path.includes('?') ? '&' : '?';
  while (!signal.aborted) {
    const url = index ? `${path}${sep}index=${index}&wait=60s` : path;
    try {
      const r = await get(url, signal);
      delay = 500;
      if (!index || r.index !== index) onData(r.data, r.index);
      // An index that went backwards (a restored snapshot) starts over, as Nomad's do.
      if (r.index < index) index = 0;
      else if (r.index > 0) index = r.index;
      else await pause(2000, signal); // no index: poll
    } catch (e) {
      if (signal.aborted || e.name === 'AbortError') return;
      onError(e);
      if (e.status === 403) return;
      await pause(delay, signal);
      delay = Math.min(delay * 2, 10000);
    }
  }
}

// Reads a streamed text body chunk by chunk: `onText(string)` for each, until the
// stream ends, `signal` aborts, or `onText` returns false.
export async function readStream(resp, signal, onText) {
  const reader = resp.body.getReader();
  const dec = new TextDecoder();
  signal.addEventListener('abort', () => reader.cancel().catch(() => {}), {once: true});
  try {
    for (;;) {
      const {value, done} = await reader.read();
      if (done) return;
      if (onText(dec.decode(value, {stream: true})) === false) {
        reader.cancel().catch(() => {});
        return;
      }
    }
  } catch (e) {
    if (signal.aborted) return;
    throw e;
  }
}

// Nomad's event stream for `topics` (`Job:web`, `Allocation:*`): calls `onChange()`
// once per batch with events (and on every reconnect, since events may have been
// missed), until `signal` aborts. Used by the pages that combine several lists, where
// one stream replaces a blocking query per list (browsers allow six connections).
export async function events(topics, namespace, signal, onChange, onError) {
  const q = topics.map((t) => `topic=${encodeURIComponent(t)}`).join('&');
  const path = `/v1/event/stream?${q}&namespace=${encodeURIComponent(namespace)}`;
  let delay = 500;
  let first = true;
  while (!signal.aborted) {
    try {
      const r = await request(path, {signal});
      if (!first) onChange();
      first = false;
      delay = 500;
      let buf = '';
      await readStream(r, signal, (text) => {
        buf += text;
        let nl;
        let changed = false;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          try {
            const batch = JSON.parse(line);
            if (batch.Events && batch.Events.length) changed = true;
          } catch { /* a partial or foreign line: ignore */ }
        }
        if (changed) onChange();
      });
    } catch (e) {
      if (signal.aborted || e.name === 'AbortError') return;
      onError(e);
      if (e.status === 403 || e.status === 400) return;
    }
    await pause(delay, signal);
    delay = Math.min(delay * 2, 10000);
  }
}

// Calls `fn` at most once per `ms`, the last call winning (bursts of events → one reload).
export function debounce(fn, ms) {
  let t = null;
  return () => {
    if (t) clearTimeout(t);
    t = setTimeout(() => { t = null; fn(); }, ms);
  };
}

// Percent-encodes one path component.
export const enc = encodeURIComponent;
