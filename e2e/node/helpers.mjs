// Shared helpers for the Node end-to-end tests of the embedded OAuth 2.1
// authorization server: configuration from the environment, bounded waits,
// a cookie-keeping headless user agent that submits the login and consent
// forms, PKCE (RFC 7636), dynamic client registration (RFC 7591), token
// requests (RFC 6749 §4.1.3, §6) and JWT inspection (RFC 9068, RFC 7515).
//
// Nothing here mocks the server: every helper speaks HTTP to the server the
// test run started (MCP_URL).

import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The MCP endpoint under test, e.g. http://127.0.0.1:PORT/mcp. */
export const MCP_URL = requiredEnv('MCP_URL');

/** The login the test configuration (e2e/testdata/local.yaml) defines. */
export const USERNAME = process.env.E2E_USERNAME ?? 'alice';
export const PASSWORD = process.env.E2E_PASSWORD ?? 'alice-test-password';

/** Bound on any single network step (one HTTP exchange, one page load). */
export const STEP_MS = 15_000;

/** Where screenshots are written (gitignored). */
export const ARTIFACTS_DIR = process.env.ARTIFACTS_DIR ?? path.resolve(here, '..', 'artifacts');

function requiredEnv(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set; run the tests through scripts/e2e-node.sh`);
  }
  return v;
}

/** artifactPath creates ARTIFACTS_DIR and returns the path of the file name in it. */
export function artifactPath(name) {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return path.join(ARTIFACTS_DIR, name);
}

/**
 * withTimeout settles like promise, or rejects after ms with an error naming
 * what was being waited for.
 */
export async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** timedFetch is fetch with a bounded duration (STEP_MS unless init.timeoutMs). */
export function timedFetch(url, init = {}) {
  const { timeoutMs = STEP_MS, ...rest } = init;
  const limit = AbortSignal.timeout(timeoutMs);
  const signal = rest.signal ? AbortSignal.any([rest.signal, limit]) : limit;
  return fetch(url, { ...rest, signal });
}

/** getJSON fetches url and returns { status, headers, body } with the body parsed as JSON. */
export async function getJSON(url, init = {}) {
  const res = await timedFetch(url, init);
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${init.method ?? 'GET'} ${url}: status ${res.status}, body is not JSON: ${text.slice(0, 300)}`);
  }
  return { status: res.status, headers: res.headers, body };
}

/**
 * discover reads the protected-resource metadata (RFC 9728 §3, path-inserted
 * form) for MCP_URL and the authorization server metadata (RFC 8414 §3) it
 * points to.
 */
export async function discover(mcpUrl = MCP_URL) {
  const u = new URL(mcpUrl);
  const prmUrl = new URL(`/.well-known/oauth-protected-resource${u.pathname}`, u);
  const prm = await getJSON(prmUrl);
  if (prm.status !== 200) {
    throw new Error(`GET ${prmUrl}: status ${prm.status}`);
  }
  const asUrl = prm.body.authorization_servers?.[0];
  if (!asUrl) {
    throw new Error(`${prmUrl} lists no authorization_servers`);
  }
  const asBase = new URL(asUrl);
  const asMetaUrl = new URL(
    `/.well-known/oauth-authorization-server${asBase.pathname === '/' ? '' : asBase.pathname}`,
    asBase,
  );
  const as = await getJSON(asMetaUrl);
  if (as.status !== 200) {
    throw new Error(`GET ${asMetaUrl}: status ${as.status}`);
  }
  return { prm: prm.body, as: as.body, authorizationServerUrl: asUrl };
}

/** base64url (RFC 4648 §5) without padding. */
export function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

/** pkce returns a fresh RFC 7636 verifier and its S256 challenge (§4.1, §4.2). */
export function pkce() {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  return { verifier, challenge };
}

/** randomState returns an unguessable OAuth state value. */
export function randomState() {
  return b64url(randomBytes(16));
}

/**
 * registerClient performs dynamic client registration (RFC 7591 §3.1) of a
 * public client (token_endpoint_auth_method none) and returns the response
 * body (RFC 7591 §3.2.1).
 */
export async function registerClient(as, { clientName, redirectUris, scope }) {
  const res = await getJSON(as.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      client_name: clientName,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...(scope ? { scope } : {}),
    }),
  });
  if (res.status !== 201) {
    throw new Error(`POST ${as.registration_endpoint}: status ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return res.body;
}

/**
 * tokenRequest posts form parameters to the token endpoint (RFC 6749 §3.2)
 * and returns { status, headers, body }.
 */
export async function tokenRequest(as, params) {
  return getJSON(as.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(params),
  });
}

/** decodeJWT splits a compact JWS (RFC 7515 §7.1) and parses header and payload. */
export function decodeJWT(jwt) {
  const parts = String(jwt).split('.');
  if (parts.length !== 3) {
    throw new Error(`not a compact JWS: ${parts.length} parts`);
  }
  const [h, p, s] = parts;
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
    signingInput: `${h}.${p}`,
    signature: Buffer.from(s, 'base64url'),
  };
}

/**
 * verifyJWT checks the JWS signature of jwt with the key from jwks whose kid
 * matches the header's (RFC 7515 §5.2, RFC 7517). It supports the ES256/384/512,
 * RS256/384/512, PS256/384/512 and EdDSA algorithms and returns the decoded token.
 */
export function verifyJWT(jwt, jwks) {
  const t = decodeJWT(jwt);
  const jwk = (jwks.keys ?? []).find((k) => k.kid === t.header.kid);
  if (!jwk) {
    throw new Error(`no key with kid ${t.header.kid} in the JWKS`);
  }
  for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
    if (priv in jwk) {
      throw new Error(`JWKS key ${jwk.kid} exposes private member "${priv}"`);
    }
  }
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const alg = t.header.alg;
  const bits = alg.slice(2);
  let ok;
  if (alg.startsWith('ES')) {
    ok = verify(`sha${bits}`, Buffer.from(t.signingInput), { key, dsaEncoding: 'ieee-p1363' }, t.signature);
  } else if (alg.startsWith('RS')) {
    ok = verify(`sha${bits}`, Buffer.from(t.signingInput), key, t.signature);
  } else if (alg.startsWith('PS')) {
    ok = verify(`sha${bits}`, Buffer.from(t.signingInput), { key, padding: 6, saltLength: Number(bits) / 8 }, t.signature);
  } else if (alg === 'EdDSA') {
    ok = verify(null, Buffer.from(t.signingInput), key, t.signature);
  } else {
    throw new Error(`unexpected JWS alg ${alg}`);
  }
  if (!ok) {
    throw new Error('JWT signature does not verify');
  }
  return t;
}

// ---------------------------------------------------------------------------
// HTML forms

const ENTITIES = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  middot: '\u00b7',
  mdash: '\u2014',
  ndash: '\u2013',
  hellip: '\u2026',
  copy: '\u00a9',
};

/** decodeEntities decodes the HTML character references a server-rendered page uses. */
export function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+[0-9]*);/gi, (m, ref) => {
    if (ref[0] === '#') {
      const cp = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return Number.isFinite(cp) ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[ref.toLowerCase()] ?? m;
  });
}

/** parseAttributes parses the attribute list of one start tag into a lower-cased-name map. */
export function parseAttributes(s) {
  const out = {};
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  let m;
  while ((m = re.exec(s)) !== null) {
    const name = m[1].toLowerCase();
    if (name in out) continue; // HTML: the first occurrence wins
    out[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

/**
 * parseForms extracts each <form> of an HTML page: its resolved action, its
 * method, its named controls (input, select, textarea) and its submit buttons.
 */
export function parseForms(html, pageUrl) {
  const forms = [];
  const formRe = /<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi;
  let fm;
  while ((fm = formRe.exec(html)) !== null) {
    const attrs = parseAttributes(fm[1]);
    const body = fm[2];
    const fields = [];
    const buttons = [];
    const ctlRe = /<(input|button|select|textarea)\b([^>]*)>/gi;
    let cm;
    while ((cm = ctlRe.exec(body)) !== null) {
      const tag = cm[1].toLowerCase();
      const a = parseAttributes(cm[2]);
      const type = (a.type ?? (tag === 'button' ? 'submit' : 'text')).toLowerCase();
      if (type === 'submit' || type === 'image') {
        buttons.push({ name: a.name, value: a.value ?? '', tag });
      } else if (a.name !== undefined && type !== 'button' && type !== 'reset') {
        fields.push({ name: a.name, value: a.value ?? (type === 'checkbox' || type === 'radio' ? 'on' : ''), type, tag, checked: 'checked' in a });
      }
    }
    forms.push({
      action: new URL(attrs.action ?? '', pageUrl).href,
      method: (attrs.method ?? 'get').toUpperCase(),
      fields,
      buttons,
    });
  }
  return forms;
}

/** pageTitle returns the decoded <title> of an HTML page, or ''. */
export function pageTitle(html) {
  const m = /<title\b[^>]*>([\s\S]*?)<\/title>/i.exec(html);
  return m ? decodeEntities(m[1]).trim() : '';
}

/** pageText returns the visible text of an HTML page, whitespace-collapsed. */
export function pageText(html) {
  return decodeEntities(
    html
      .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
      .replace(/<[^>]*>/g, ' '),
  )
    .replace(/\s+/g, ' ')
    .trim();
}

// ---------------------------------------------------------------------------
// Cookies (RFC 6265, the subset a same-host login flow needs)

/** CookieJar keeps the cookies each host set and sends them back. */
export class CookieJar {
  #cookies = new Map(); // `${host}\n${name}` -> { value, path }

  /** store records the Set-Cookie headers of res, a response to a request for url. */
  store(url, res) {
    const host = new URL(url).host;
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let cpath = '/';
      let expired = false;
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        const key = k.trim().toLowerCase();
        if (key === 'path') cpath = v.trim() || '/';
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) < Date.now()) expired = true;
      }
      const k = `${host}\n${name}`;
      if (expired) this.#cookies.delete(k);
      else this.#cookies.set(k, { name, value, path: cpath, raw: line });
    }
  }

  /** header returns the Cookie header value for a request to url ('' when none). */
  header(url) {
    const u = new URL(url);
    const out = [];
    for (const [k, c] of this.#cookies) {
      if (!k.startsWith(`${u.host}\n`)) continue;
      if (!u.pathname.startsWith(c.path)) continue;
      out.push(`${c.name}=${c.value}`);
    }
    return out.join('; ');
  }

  /** setCookieLines returns every Set-Cookie line kept, for attribute assertions. */
  setCookieLines() {
    return [...this.#cookies.values()].map((c) => c.raw);
  }
}

// ---------------------------------------------------------------------------
// Headless user agent for the authorization endpoint

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * authorizeHeadless plays the user agent of an authorization request
 * (RFC 6749 §4.1.1): it loads authorizationUrl without following redirects
 * automatically, keeps cookies, fills the login form (fields username and
 * password plus its hidden fields), submits the consent form with
 * consent=<decision>, and stops at the first Location that starts with
 * redirectUri. It returns the authorization response parameters
 * (RFC 6749 §4.1.2, RFC 9207 §2) and a log of every exchange.
 *
 * It throws when a page is neither a login nor a consent page, when the
 * server answers with an unexpected status, or when the login is rejected
 * (the login page comes back, carrying the server's generic failure message).
 */
export async function authorizeHeadless(authorizationUrl, opts) {
  const {
    redirectUri,
    username = USERNAME,
    password = PASSWORD,
    decision = 'approve',
    jar = new CookieJar(),
    maxSteps = 12,
  } = opts;
  const log = [];
  let req = { url: String(authorizationUrl), method: 'GET', body: undefined };
  let logins = 0;
  for (let step = 0; step < maxSteps; step++) {
    const headers = { accept: 'text/html' };
    const cookie = jar.header(req.url);
    if (cookie) headers.cookie = cookie;
    if (req.body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await timedFetch(req.url, { method: req.method, headers, body: req.body, redirect: 'manual' });
    jar.store(req.url, res);
    const entry = { method: req.method, url: req.url, status: res.status, headers: res.headers };
    log.push(entry);

    if (REDIRECTS.has(res.status)) {
      await res.body?.cancel();
      const raw = res.headers.get('location');
      if (!raw) throw new Error(`${req.method} ${req.url}: ${res.status} without Location`);
      const loc = new URL(raw, req.url);
      entry.location = loc.href;
      if (loc.href.startsWith(redirectUri)) {
        const q = loc.searchParams;
        return {
          location: loc,
          code: q.get('code'),
          state: q.get('state'),
          iss: q.get('iss'),
          error: q.get('error'),
          errorDescription: q.get('error_description'),
          log,
          jar,
        };
      }
      // 307/308 repeat the request; every other redirect becomes a GET.
      req = res.status === 307 || res.status === 308 ? { ...req, url: loc.href } : { url: loc.href, method: 'GET' };
      continue;
    }

    const html = await res.text();
    entry.html = html;
    if (res.status !== 200) {
      throw new Error(`${req.method} ${req.url}: status ${res.status}: ${pageText(html).slice(0, 400)}`);
    }
    const forms = parseForms(html, req.url);
    const login = forms.find((f) => f.fields.some((x) => x.name === 'password'));
    const consent = forms.find(
      (f) => f.buttons.some((b) => b.name === 'consent') || f.fields.some((x) => x.name === 'consent'),
    );
    if (login) {
      entry.kind = 'login';
      if (++logins > 1) {
        throw new Error(`login rejected: ${pageText(html).slice(0, 400)}`);
      }
      req = submit(login, { username, password });
    } else if (consent) {
      entry.kind = 'consent';
      req = submit(consent, { consent: decision });
    } else {
      entry.kind = 'other';
      throw new Error(`${req.url}: neither a login nor a consent page: ${pageText(html).slice(0, 400)}`);
    }
  }
  throw new Error(`no redirect to ${redirectUri} within ${maxSteps} steps`);
}

/**
 * submit builds the request a browser sends for form: every named control
 * with its value, overridden by values, as application/x-www-form-urlencoded.
 */
function submit(form, values) {
  const params = new URLSearchParams();
  const set = new Set(Object.keys(values));
  for (const f of form.fields) {
    if (set.has(f.name)) continue;
    if ((f.type === 'checkbox' || f.type === 'radio') && !f.checked) continue;
    params.append(f.name, f.value);
  }
  for (const [k, v] of Object.entries(values)) params.append(k, v);
  if (form.method === 'GET') {
    const u = new URL(form.action);
    u.search = params.toString();
    return { url: u.href, method: 'GET' };
  }
  return { url: form.action, method: 'POST', body: params.toString() };
}

/**
 * authorizationURL builds an authorization request (RFC 6749 §4.1.1) with
 * PKCE S256 (RFC 7636 §4.3), state, scope and resource (RFC 8707 §2).
 */
export function authorizationURL(as, { clientId, redirectUri, challenge, state, scope, resource }) {
  const u = new URL(as.authorization_endpoint);
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('client_id', clientId);
  u.searchParams.set('redirect_uri', redirectUri);
  u.searchParams.set('code_challenge', challenge);
  u.searchParams.set('code_challenge_method', 'S256');
  u.searchParams.set('state', state);
  if (scope) u.searchParams.set('scope', scope);
  if (resource) u.searchParams.set('resource', resource);
  return u;
}
