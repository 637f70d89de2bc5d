// Vercel's routing, for the differential tests of the local platform (tests/platform/test_rules_vercel_diff.py).
//
// stdin: [{"config": vercel.json, "files": [paths], "requests": [{"path", "query", "headers"}]}]
// stdout: for each case, {"error"} or {"answers": [{"status", "location", "file", "headers"}]}.
//
// @vercel/routing-utils turns the config into routes (getTransformedRoutes); this file applies them as
// Vercel documents its routing: routes before {"handle": "filesystem"} in order (a route with
// "continue" adds its headers and goes on, a redirect answers, any other match ends the phase), then
// the filesystem, then the rewrites ("check": a destination that is a file is served, otherwise the
// next rewrite sees the rewritten path), then 404. Sources match case-insensitively; has/missing
// conditions follow Vercel's rules (a value is a regex over the whole value, its named groups become
// parameters; without a value the key must be present and its value is the parameter named after it).
'use strict';
const { getTransformedRoutes } = require('@vercel/routing-utils');

function conditionValue(item, req) {
  const headers = req.headers || {};
  if (item.type === 'host') return (headers.host || '').split(':')[0].toLowerCase() || undefined;
  if (item.type === 'header') return headers[item.key.toLowerCase()];
  if (item.type === 'query') {
    const all = new URLSearchParams(req.query || '').getAll(item.key);
    return all.length ? all[all.length - 1] : undefined;
  }
  if (item.type === 'cookie') {
    for (const part of (headers.cookie || '').split(';')) {
      const at = part.indexOf('=');
      if (at > 0 && part.slice(0, at).trim() === item.key) return part.slice(at + 1).trim();
    }
  }
  return undefined;
}

function conditionMatches(item, req, params) {
  const value = conditionValue(item, req);
  if (value === undefined) return false;
  if (item.value === undefined) {
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(item.key)) params[item.key] = value;
    return true;
  }
  const m = value.match(new RegExp(`^${item.value}$`));
  if (!m) return false;
  if (m.groups) Object.assign(params, m.groups);
  else if (item.type === 'host') params.host = m[0];
  return true;
}

function matchRoute(route, path, req) {
  const m = new RegExp(route.src, 'i').exec(path);
  if (!m) return null;
  const params = { ...(m.groups || {}) };
  for (const item of route.has || []) if (!conditionMatches(item, req, params)) return null;
  for (const item of route.missing || []) if (conditionMatches(item, req, {})) return null;
  return { m, params };
}

function fill(value, found) {
  return value.replace(/\$([1-9][0-9]*|[a-zA-Z_][a-zA-Z0-9_]*)/g, (_, key) =>
    /^[0-9]+$/.test(key) ? found.m[Number(key)] || '' : found.params[key] || '');
}

function lookup(files, path, cleanUrls) {
  const rel = path.replace(/^\/+/, '');
  if (rel === '' || rel.endsWith('/')) {
    if (files.has(rel + 'index.html')) return rel + 'index.html';
    if (rel && cleanUrls && files.has(rel.slice(0, -1) + '.html')) return rel.slice(0, -1) + '.html';
    return null;
  }
  if (files.has(rel)) return rel;
  if (cleanUrls && files.has(rel + '.html')) return rel + '.html';
  if (files.has(rel + '/index.html')) return rel + '/index.html';
  return null;
}

function answer(routes, config, files, req) {
  const fs = routes.findIndex(r => r.handle === 'filesystem');
  const before = fs < 0 ? routes : routes.slice(0, fs);
  const after = fs < 0 ? [] : routes.slice(fs + 1);
  const headers = {};
  let path = req.path;
  for (const route of before) {
    if (route.handle) continue;
    const found = matchRoute(route, path, req);
    if (!found) continue;
    if (route.continue) {
      for (const [k, v] of Object.entries(route.headers || {})) headers[k.toLowerCase()] = fill(v, found);
      if (route.dest) path = fill(route.dest, found);
      continue;
    }
    if (route.status && route.headers && route.headers.Location !== undefined) {
      return { status: route.status, location: fill(route.headers.Location, found), file: null, headers: {} };
    }
    break;
  }
  const file = lookup(files, path, config.cleanUrls === true);
  if (file) return { status: 200, location: null, file, headers };
  for (const route of after) {
    if (route.handle) continue;
    const found = matchRoute(route, path, req);
    if (!found) continue;
    const dest = fill(route.dest, found);
    if (/^https?:\/\//i.test(dest)) return { status: 'proxy', location: dest, file: null, headers };
    path = dest.split('#')[0].split('?')[0];
    if (!path.startsWith('/')) path = '/' + path;
    const target = lookup(files, path, config.cleanUrls === true);
    if (target) return { status: route.status || 200, location: null, file: target, headers };
  }
  return { status: 404, location: null, file: files.has('404.html') ? '404.html' : null, headers };
}

const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = input.map(c => {
  const { routes, error } = getTransformedRoutes(JSON.parse(JSON.stringify(c.config)));
  if (error) return { error: error.message || String(error) };
  const files = new Set(c.files);
  return { answers: c.requests.map(req => answer(routes || [], c.config, files, req)) };
});
process.stdout.write(JSON.stringify(out));
