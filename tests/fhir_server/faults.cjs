// Fault injection for the loopback FHIR test server (Vigil's addition to the reference server).
//
// A test makes the server slow, failing, malformed or mute on chosen requests, to exercise a
// client's retry, time-out and dead-letter paths against the real engine. Faults are set over
// HTTP (POST /admin/faults), applied in order (the first one that matches and has uses left
// wins), and cleared by DELETE /admin/faults or POST /admin/reset. See README.md.
'use strict';

const KEYS = new Set(['match', 'times', 'delay_ms', 'status', 'body', 'content_type', 'headers', 'drop', 'truncate', 'process']);
const faults = []; // {id, match: RegExp | null, left: number, spec}
let nextId = 1;

// Unknown keys and wrong types are refused, so that a typo in a test fails loudly instead of
// injecting nothing.
function checkSpec(spec) {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new Error('a fault is a JSON object');
  for (const k of Object.keys(spec)) if (!KEYS.has(k)) throw new Error(`unknown fault key '${k}' (known: ${[...KEYS].join(', ')})`);
  const num = (k, min) => { if (k in spec && !(Number.isInteger(spec[k]) && spec[k] >= min)) throw new Error(`${k} must be an integer >= ${min}`); };
  num('times', 1); num('delay_ms', 0); num('status', 100);
  if ('status' in spec && spec.status > 599) throw new Error('status must be < 600');
  for (const k of ['match', 'body', 'content_type']) if (k in spec && typeof spec[k] !== 'string') throw new Error(`${k} must be a string`);
  for (const k of ['drop', 'truncate', 'process']) if (k in spec && typeof spec[k] !== 'boolean') throw new Error(`${k} must be a boolean`);
  if ('headers' in spec && (typeof spec.headers !== 'object' || Array.isArray(spec.headers))) throw new Error('headers must be an object');
  if (spec.drop && spec.truncate) throw new Error('drop and truncate exclude each other');
  return { id: nextId++, match: 'match' in spec ? new RegExp(spec.match) : null, left: spec.times ?? Infinity, spec };
}

function add(specs) {
  const checked = (Array.isArray(specs) ? specs : [specs]).map(checkSpec); // all or nothing
  faults.push(...checked);
  return checked.map((f) => f.id);
}

// The fault for this request, if any, using up one of its `times`.
function take(method, pathname) {
  const target = `${method} ${pathname}`;
  const i = faults.findIndex((f) => f.left > 0 && (!f.match || f.match.test(target)));
  if (i < 0) return null;
  const f = faults[i];
  f.left -= 1;
  if (f.left <= 0) faults.splice(i, 1);
  return f;
}

function list() {
  return faults.map((f) => ({ id: f.id, left: Number.isFinite(f.left) ? f.left : null, ...f.spec }));
}

function clear() { faults.length = 0; }

// Whether the fault changes the answer; a fault with only `delay_ms` just makes it late.
function disrupts(spec) {
  return 'status' in spec || 'body' in spec || Boolean(spec.drop) || Boolean(spec.truncate);
}

// The request still reaches the store when the fault keeps the server's own answer, or when the
// test asks for it (`process`): "the server committed it, but the client never heard".
function processes(spec) {
  return Boolean(spec.process) || !('status' in spec || 'body' in spec);
}

function defaultOutcome(status) {
  const code = status === 429 ? 'throttled' : status === 401 ? 'login' : status === 403 ? 'forbidden' : status >= 500 ? 'transient' : 'processing';
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics: `injected fault: HTTP ${status}` }] };
}

// The fault's own answer: {status, headers, body: Buffer}.
function answer(spec, fhirJson) {
  const status = spec.status ?? (('body' in spec) ? 200 : 500);
  const body = Buffer.from('body' in spec ? spec.body : JSON.stringify(defaultOutcome(status)), 'utf8');
  return { status, headers: { 'Content-Type': spec.content_type ?? fhirJson, ...(spec.headers ?? {}) }, body };
}

module.exports = { add, take, list, clear, disrupts, processes, answer };
