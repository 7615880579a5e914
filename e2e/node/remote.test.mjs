// End-to-end tests of orchestrated/remote mode against a real, OpenID-certified
// identity provider: oidc-provider 9 (npm) in this process, and the
// examples/remote binary (`serve`, auth.type remote) as a child process whose
// users sign in at the provider. The MCP client is the official TypeScript
// MCP SDK; it only ever holds frontmcp's own tokens, while the tool
// upstream_profile reads the provider's userinfo with the user's upstream
// access token (frontmcp.UpstreamToken).
//
//   - the whole flow: the SDK discovers and registers at frontmcp, the user
//     signs in at the provider (PKCE, state, nonce) and approves frontmcp's
//     consent page, the tool returns the upstream subject;
//   - the provider's answers frontmcp must refuse: a denied sign-in, an ID
//     token with a bad signature, an ID token with another nonce (the last two
//     made by a fault-injection proxy in front of the provider's token
//     endpoint, which re-signs the provider's real ID token);
//   - upstream refresh: an expiring upstream token is refreshed before the
//     tool gets it; a refresh token the provider refuses gives the tool a
//     clear "re-authorization required" error and ends frontmcp's grant, so
//     the SDK client is refused (401) and authorizes again;
//   - frontmcp's own refresh keeps the grant's vault entry;
//   - the store file holds no upstream token in plaintext; a restart keeps
//     the vault usable; a wrong vault key stops the server with a clear error
//     and leaves the store untouched.
//
// Run through scripts/e2e-remote.sh, which builds the binary and sets
// FRONTMCP_BIN and MCP_URL (the port the server is to listen on).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import * as jose from 'jose';
import Provider from 'oidc-provider';

import { CookieJar, decodeJWT, MCP_URL, pageText, parseForms, STEP_MS, timedFetch, tokenRequest, withTimeout } from './helpers.mjs';
import { HeadlessOAuthProvider } from './provider.mjs';

const FRONTMCP_BIN = process.env.FRONTMCP_BIN;
const BASE = new URL(MCP_URL).origin;
const CALLBACK = `${BASE}/oauth/upstream/callback`;
const REDIRECT_URI = 'http://127.0.0.1:53684/callback';
const TEST_MS = 120_000;
const LOGIN = 'carol';
const UPSTREAM = { id: 'frontmcp-remote', secret: randomBytes(24).toString('base64url') };
const VAULT_KEY = randomBytes(32).toString('base64');
const SKEW_S = 60;

// ---------------------------------------------------------------------------
// The identity provider and the fault-injection proxy

/**
 * IdP is oidc-provider on a loopback port. The lifetimes of the access and
 * refresh tokens it issues next are set per test (accessTTL, refreshTTL).
 */
class IdP {
  accessTTL = 3600;
  refreshTTL = 3600;
  #server = createServer();

  async start() {
    await new Promise((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.issuer = `http://127.0.0.1:${this.#server.address().port}`;
    const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
    this.key = { ...(await jose.exportJWK(privateKey)), kid: randomBytes(8).toString('hex'), alg: 'ES256', use: 'sig' };
    const provider = new Provider(this.issuer, {
      clients: [{
        client_id: UPSTREAM.id,
        client_secret: UPSTREAM.secret,
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [CALLBACK],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      }],
      jwks: { keys: [this.key] },
      scopes: ['openid', 'offline_access', 'email'],
      claims: { openid: ['sub'], email: ['email'] },
      cookies: { keys: [randomBytes(16).toString('hex')] },
      findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, email: `${sub}@example.com` }) }),
      // Put the granted scopes' claims (email) in the ID token too, which is
      // where frontmcp copies claims from.
      conformIdTokenClaims: false,
      pkce: { required: () => true },
      rotateRefreshToken: true,
      ttl: {
        AccessToken: () => this.accessTTL,
        RefreshToken: () => this.refreshTTL,
        IdToken: 300, Interaction: 600, Session: 3600, Grant: 3600,
      },
      features: { devInteractions: { enabled: true } },
    });
    this.#server.on('request', provider.callback());
  }

  async stop() {
    const closed = new Promise((resolve) => this.#server.close(resolve));
    this.#server.closeAllConnections();
    await closed;
  }
}

/**
 * TokenProxy stands between frontmcp and the provider's token endpoint
 * (frontmcp's auth.remote.tokenEndpoint points at it). It forwards every
 * request and records the provider's tokens (so the tests can look for them
 * in the store) and each grant type. It is a fault injector: in mode
 * "bad-signature" it re-signs the provider's ID token with another key under
 * the provider's key id; in mode "nonce" it re-signs it with the provider's
 * own key and another nonce.
 */
class TokenProxy {
  mode = 'none';
  grants = [];
  tokens = [];
  #server;

  constructor(idp) {
    this.idp = idp;
    this.#server = createServer((req, res) => this.#handle(req, res).catch((err) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(err));
    }));
  }

  async start() {
    await new Promise((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.#server.address().port}`;
  }

  async stop() {
    const closed = new Promise((resolve) => this.#server.close(resolve));
    this.#server.closeAllConnections();
    await closed;
  }

  refreshes() {
    return this.grants.filter((g) => g === 'refresh_token').length;
  }

  async #handle(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString();
    this.grants.push(new URLSearchParams(body).get('grant_type'));
    const upstream = await timedFetch(`${this.idp.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': req.headers['content-type'], authorization: req.headers.authorization ?? '' },
      body,
    });
    const text = await upstream.text();
    let out = text;
    if (upstream.status === 200) {
      const json = JSON.parse(text);
      for (const k of ['access_token', 'refresh_token', 'id_token']) if (json[k]) this.tokens.push(json[k]);
      if (json.id_token && this.mode !== 'none') {
        json.id_token = await this.#tamper(json.id_token);
        out = JSON.stringify(json);
      }
    }
    res.writeHead(upstream.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(out);
  }

  async #tamper(idToken) {
    const { header, payload } = decodeJWT(idToken);
    let key = this.idp.key;
    if (this.mode === 'bad-signature') {
      const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
      key = { ...(await jose.exportJWK(privateKey)), kid: this.idp.key.kid };
    } else if (this.mode === 'nonce') {
      payload.nonce = randomBytes(16).toString('base64url');
    }
    return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ ...header, kid: this.idp.key.kid })
      .sign(await jose.importJWK(key, 'ES256'));
  }
}

// ---------------------------------------------------------------------------
// The user

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * signIn plays the user's browser from frontmcp's authorization URL to the
 * MCP client's redirect URI: it follows redirects across frontmcp and the
 * provider, signs in and consents at the provider's development
 * interactions (or cancels there when decision is "deny"), and approves
 * frontmcp's consent page. It returns the authorization response's
 * parameters and the hosts' pages it saw.
 */
async function signIn(authorizationUrl, { decision = 'approve', jar = new CookieJar() } = {}) {
  const pages = [];
  let req = { url: String(authorizationUrl), method: 'GET' };
  for (let step = 0; step < 20; step++) {
    const headers = { accept: 'text/html' };
    const cookie = jar.header(req.url);
    if (cookie) headers.cookie = cookie;
    if (req.body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await timedFetch(req.url, { method: req.method, headers, body: req.body, redirect: 'manual' });
    jar.store(req.url, res);
    if (REDIRECTS.has(res.status)) {
      await res.body?.cancel();
      const loc = new URL(res.headers.get('location'), req.url);
      if (loc.href.startsWith(REDIRECT_URI)) return { q: loc.searchParams, pages };
      req = { url: loc.href, method: 'GET' };
      continue;
    }
    const html = await res.text();
    assert.equal(res.status, 200, `${req.method} ${req.url}: ${pageText(html).slice(0, 300)}`);
    const origin = new URL(req.url).origin;
    const forms = parseForms(html, req.url);
    const prompt = forms.find((f) => f.fields.some((x) => x.name === 'prompt'));
    const consent = forms.find((f) => f.buttons.some((b) => b.name === 'consent'));
    if (prompt) {
      const name = prompt.fields.find((x) => x.name === 'prompt').value;
      pages.push(`provider ${name}`);
      if (decision === 'deny') {
        const abort = /href="([^"]*\/abort)"/.exec(html)?.[1];
        assert.ok(abort, 'the provider page has a cancel link');
        req = { url: new URL(abort, req.url).href, method: 'GET' };
        continue;
      }
      const body = new URLSearchParams({ prompt: name });
      if (name === 'login') {
        body.set('login', LOGIN);
        body.set('password', 'any');
      }
      req = { url: prompt.action, method: 'POST', body: body.toString() };
    } else if (consent && origin === BASE) {
      pages.push('frontmcp consent');
      const body = new URLSearchParams();
      for (const f of consent.fields) body.append(f.name, f.value);
      body.set('consent', 'approve');
      req = { url: consent.action, method: 'POST', body: body.toString() };
    } else {
      throw new Error(`${req.url}: unexpected page: ${pageText(html).slice(0, 300)}`);
    }
  }
  throw new Error('no authorization response after 20 steps');
}

/** RemoteUser is the SDK's OAuth client provider; the user signs in through signIn. */
class RemoteUser extends HeadlessOAuthProvider {
  constructor(opts = {}) {
    super({ redirectUri: REDIRECT_URI, clientName: 'frontmcp e2e remote', ...opts });
  }

  async redirectToAuthorization(authorizationUrl) {
    const url = new URL(authorizationUrl);
    const entry = { url, result: undefined };
    this.authorizations.push(entry);
    const { q, pages } = await signIn(url, { jar: this.jar });
    entry.pages = pages;
    entry.result = { code: q.get('code'), state: q.get('state'), iss: q.get('iss'), error: q.get('error') };
  }
}

/** connect runs the SDK's authorization flow for a new user and returns a connected client. */
async function connect(user = new RemoteUser()) {
  const transport = () => new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: user });
  const first = new Client({ name: 'e2e-remote', version: '1' });
  const t1 = transport();
  await assert.rejects(withTimeout(first.connect(t1), 4 * STEP_MS, 'first connect'), (e) => e instanceof UnauthorizedError);
  await first.close().catch(() => {});
  const a = user.lastAuthorization;
  assert.ok(a?.result?.code, `authorization response: ${JSON.stringify(a?.result)}`);
  await withTimeout(t1.finishAuth(a.result.code), STEP_MS, 'finishAuth');
  const client = new Client({ name: 'e2e-remote', version: '1' });
  await withTimeout(client.connect(transport()), 2 * STEP_MS, 'connect');
  return { user, client, transport };
}

/** profile calls the upstream_profile tool. */
async function profile(client) {
  return withTimeout(client.callTool({ name: 'upstream_profile', arguments: {} }), 2 * STEP_MS, 'upstream_profile');
}

const toolText = (res) => res.content.map((c) => c.text ?? '').join('');

/**
 * holds reports whether raw contains secret as is, or base64-encoded (as a
 * JSON []byte field would store it) at any of the three alignments.
 */
function holds(raw, secret) {
  if (raw.includes(Buffer.from(secret))) return true;
  for (let k = 0; k < 3; k++) {
    for (const enc of ['base64', 'base64url']) {
      const b = Buffer.concat([Buffer.alloc(k), Buffer.from(secret)]).toString(enc);
      if (raw.includes(Buffer.from(b.slice(4, -4)))) return true;
    }
  }
  return false;
}

/** authorize starts a bare authorization request at frontmcp (a DCR client) and lets the user answer it. */
async function authorizeBare(opts) {
  const reg = await timedFetch(`${BASE}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', client_name: 'bare' }),
  });
  const client = await reg.json();
  assert.equal(reg.status, 201, JSON.stringify(client));
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('hex');
  const u = new URL(`${BASE}/oauth/authorize`);
  u.search = new URLSearchParams({
    response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT_URI, state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  }).toString();
  const { q, pages } = await signIn(u, opts);
  return { q, state, pages };
}

// ---------------------------------------------------------------------------
// The frontmcp server

const idp = new IdP();
const proxy = new TokenProxy(idp);
let work;
let config;
let server;
let serverLog = '';
let allLogs = ''; // every run's log, to check that no upstream token was logged

/** startFrontmcp starts the server with vaultKey and waits until it is ready, or returns its exit. */
async function startFrontmcp(vaultKey = VAULT_KEY) {
  serverLog = '';
  const port = new URL(MCP_URL).port;
  server = spawn(FRONTMCP_BIN, ['serve', '--config', config, '--port', port], {
    cwd: work,
    stdio: ['ignore', 'pipe', 'pipe'],
    // The secrets come from the environment fallbacks of the checklist.
    env: { ...process.env, IDP_CLIENT_SECRET: UPSTREAM.secret, VAULT_KEY: vaultKey },
  });
  const exited = new Promise((resolve) => server.once('exit', (code) => resolve(code)));
  const onData = (b) => {
    serverLog += b;
    allLogs += b;
  };
  server.stdout.on('data', onData);
  server.stderr.on('data', onData);
  for (let i = 0; i < 300; i++) {
    if (server.exitCode !== null) return { exitCode: await exited, log: serverLog };
    try {
      const res = await timedFetch(`${BASE}/readyz`, { timeoutMs: 1000 });
      if (res.status === 200) return { exitCode: null, log: serverLog };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`frontmcp did not become ready:\n${serverLog}`);
}

async function stopFrontmcp() {
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  await exited;
}

before(async () => {
  assert.ok(FRONTMCP_BIN, 'FRONTMCP_BIN is not set; run through scripts/e2e-remote.sh');
  await idp.start();
  await proxy.start();
  work = mkdtempSync(path.join(tmpdir(), 'frontmcp-remote-'));
  config = path.join(work, 'frontmcp.yaml');
  writeFileSync(config, [
    'environment: development',
    'info: {name: frontmcp-e2e-remote, version: 1.0.0}',
    'logging: {level: info}',
    `http: {publicUrl: ${JSON.stringify(BASE)}}`,
    'auth:',
    '  mode: orchestrated',
    '  type: remote',
    `  provider: ${JSON.stringify(idp.issuer)}`,
    '  remote:',
    `    clientId: ${UPSTREAM.id}`,
    '    scopes: [openid, offline_access, email]',
    `    tokenEndpoint: ${JSON.stringify(`${proxy.url}/token`)}`,
    '    copyClaims: [email]',
    `  tokenStorage: {type: file, config: {path: ${JSON.stringify(path.join(work, 'store.db'))}}}`,
    `  refresh: {skewSeconds: ${SKEW_S}}`,
    '',
  ].join('\n'));
  const { exitCode, log } = await startFrontmcp();
  assert.equal(exitCode, null, `frontmcp exited:\n${log}`);
});

after(async () => {
  await stopFrontmcp();
  await proxy.stop().catch(() => {});
  await idp.stop().catch(() => {});
  if (work) rmSync(work, { recursive: true, force: true });
  if (process.exitCode) console.error(`frontmcp log:\n${serverLog}`);
});

// Sessions shared by the later tests: the happy path's user and client.
let main;

// ---------------------------------------------------------------------------
// Tests

test('config check and the startup log name the redirect URI to register', { timeout: TEST_MS }, async () => {
  assert.match(serverLog, new RegExp(`redirect_uri=${CALLBACK.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(serverLog, /protocol="OpenID Connect"/);
  const check = spawn(FRONTMCP_BIN, ['config', 'check', config], { env: { ...process.env, IDP_CLIENT_SECRET: UPSTREAM.secret, VAULT_KEY } });
  let out = '';
  check.stdout.on('data', (b) => (out += b));
  check.stderr.on('data', (b) => (out += b));
  const code = await new Promise((resolve) => check.once('exit', resolve));
  assert.equal(code, 0, out);
  assert.ok(out.includes(`register this redirect URI at the identity provider: ${CALLBACK}`), out);
  assert.ok(!out.includes(UPSTREAM.secret) && !out.includes(VAULT_KEY), 'config check printed a secret');
});

test('the MCP SDK client signs in at the provider through frontmcp and a tool reads the upstream profile', { timeout: TEST_MS }, async () => {
  const seen = proxy.tokens.length;
  main = await connect();
  const a = main.user.lastAuthorization;
  assert.deepEqual(a.pages, ['provider login', 'provider consent', 'frontmcp consent']);
  assert.equal(a.url.origin, BASE, 'the SDK was sent to frontmcp, not to the provider');
  assert.equal(a.result.iss, BASE);

  // The client holds frontmcp's tokens only.
  const ours = main.user.tokens();
  const { payload } = decodeJWT(ours.access_token);
  assert.equal(payload.iss, BASE);
  assert.equal(payload.sub, LOGIN);
  assert.equal(payload.email, `${LOGIN}@example.com`, 'auth.remote.copyClaims copied the email claim');
  assert.ok(payload.sid, 'the access token names its grant');
  const upstream = proxy.tokens.slice(seen);
  assert.equal(upstream.length, 3, 'the provider issued an access, a refresh and an ID token');
  for (const t of upstream) {
    assert.notEqual(ours.access_token, t);
    assert.notEqual(ours.refresh_token, t);
  }

  const res = await profile(main.client);
  assert.equal(res.isError, undefined, toolText(res));
  assert.deepEqual(res.structuredContent, { subject: LOGIN, upstream_subject: LOGIN, email: `${LOGIN}@example.com` });
  assert.ok(!JSON.stringify(res).includes(upstream[0]), 'the tool result carries no upstream token');
  assert.equal(proxy.refreshes(), 0, 'a fresh upstream token is not refreshed');
});

test('a sign-in the user cancels at the provider answers access_denied', { timeout: TEST_MS }, async () => {
  const { q, state, pages } = await authorizeBare({ decision: 'deny' });
  assert.deepEqual(pages, ['provider login']);
  assert.equal(q.get('error'), 'access_denied');
  assert.equal(q.get('state'), state);
  assert.equal(q.get('iss'), BASE);
  assert.equal(q.get('code'), null);
});

for (const [mode, what, why] of [
  ['bad-signature', 'a bad signature', /ID token: failed to verify signature/],
  ['nonce', 'another nonce', /ID token nonce does not match this login/],
]) {
  test(`an ID token with ${what} is refused: access_denied, no code`, { timeout: TEST_MS }, async () => {
    proxy.mode = mode;
    try {
      const logFrom = serverLog.length;
      const before = proxy.grants.length;
      const { q, state, pages } = await authorizeBare();
      assert.equal(proxy.grants.length, before + 1, 'the code was redeemed at the provider');
      assert.deepEqual(pages, ['provider login', 'provider consent']);
      assert.equal(q.get('error'), 'access_denied');
      assert.equal(q.get('state'), state);
      assert.equal(q.get('iss'), BASE);
      assert.equal(q.get('code'), null);
      const log = serverLog.slice(logFrom);
      assert.match(log, /upstream login failed/);
      assert.match(log, why);
    } finally {
      proxy.mode = 'none';
    }
  });
}

test('an expiring upstream token is refreshed before the tool gets it', { timeout: TEST_MS }, async () => {
  // Tokens that live 2 s, less than twice the skew: they are due for a
  // refresh once half their life has passed (a token just issued is used).
  idp.accessTTL = 2;
  let s;
  try {
    s = await connect();
  } finally {
    idp.accessTTL = 3600;
  }
  const before = proxy.refreshes();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const res = await profile(s.client);
  assert.equal(res.isError, undefined, toolText(res));
  assert.equal(res.structuredContent.upstream_subject, LOGIN);
  assert.equal(proxy.refreshes(), before + 1, 'one refresh at the provider');
  // The refreshed token lives an hour: no further refresh.
  const again = await profile(s.client);
  assert.equal(again.isError, undefined, toolText(again));
  assert.equal(proxy.refreshes(), before + 1);
  await s.client.close();
});

test('a refresh token the provider refuses ends the grant: the client authorizes again', { timeout: TEST_MS }, async () => {
  idp.accessTTL = 2;
  idp.refreshTTL = 1;
  let s;
  try {
    s = await connect();
  } finally {
    idp.accessTTL = 3600;
    idp.refreshTTL = 3600;
  }
  const before = proxy.refreshes();
  const sid = decodeJWT(s.user.tokens().access_token).payload.sid;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const logFrom = serverLog.length;
  const res = await profile(s.client);
  assert.equal(res.isError, true, 'the tool failed');
  assert.match(toolText(res), /re-authorization required/);
  assert.match(serverLog.slice(logFrom), new RegExp(`grant revoked: the user must sign in at the identity provider again.*grant_id=${sid}`));

  // frontmcp's grant ended with the provider's: the next request is refused
  // (401), the SDK's refresh gets invalid_grant, and it sends the user to
  // authorize again, which signs in at the provider.
  const authorizations = s.user.authorizations.length;
  await assert.rejects(profile(s.client), (e) => e instanceof UnauthorizedError);
  assert.equal(s.user.authorizations.length, authorizations + 1, 'the SDK started the authorization again');
  const a = s.user.lastAuthorization;
  assert.ok(a.result.code, `authorization response: ${JSON.stringify(a.result)}`);
  assert.equal(proxy.refreshes(), before + 1, 'the provider was asked once');
  await s.client.close().catch(() => {});

  // With the new authorization the tool works again.
  const t = s.transport();
  await withTimeout(t.finishAuth(a.result.code), STEP_MS, 'finishAuth');
  const again = new Client({ name: 'e2e-remote', version: '1' });
  await withTimeout(again.connect(s.transport()), 2 * STEP_MS, 'connect after signing in again');
  const out = await profile(again);
  assert.equal(out.isError, undefined, toolText(out));
  assert.equal(out.structuredContent.upstream_subject, LOGIN);
  assert.notEqual(decodeJWT(s.user.tokens().access_token).payload.sid, sid, 'a new grant');
  await again.close();
});

test('frontmcp\'s own refresh keeps the vault entry of the grant', { timeout: TEST_MS }, async () => {
  const old = main.user.tokens();
  const clientId = main.user.clientInformation().client_id;
  const res = await tokenRequest({ token_endpoint: `${BASE}/oauth/token` }, {
    grant_type: 'refresh_token', refresh_token: old.refresh_token, client_id: clientId,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.notEqual(res.body.refresh_token, old.refresh_token, 'rotated');
  assert.equal(decodeJWT(res.body.access_token).payload.sid, decodeJWT(old.access_token).payload.sid, 'same grant');
  main.user.setTokens(res.body);
  const client = new Client({ name: 'e2e-remote', version: '1' });
  await withTimeout(client.connect(main.transport()), 2 * STEP_MS, 'connect with the refreshed token');
  const out = await profile(client);
  assert.equal(out.isError, undefined, toolText(out));
  assert.equal(out.structuredContent.upstream_subject, LOGIN);
  await client.close();
});

test('the store holds ciphertext; a restart keeps the vault; a wrong vault key stops the server', { timeout: TEST_MS }, async () => {
  const storePath = path.join(work, 'store.db');
  const raw = readFileSync(storePath);
  assert.ok(proxy.tokens.length > 0);
  for (const t of proxy.tokens) {
    assert.ok(!holds(raw, t), 'an upstream token is in the store file in plaintext');
  }
  assert.ok(raw.includes(Buffer.from('"envelope":"fmv1.')), 'the store file holds vault envelopes');

  await main.client.close();
  await stopFrontmcp();
  let started = await startFrontmcp();
  assert.equal(started.exitCode, null, started.log);
  const client = new Client({ name: 'e2e-remote', version: '1' });
  await withTimeout(client.connect(main.transport()), 2 * STEP_MS, 'connect after restart');
  const out = await profile(client);
  assert.equal(out.isError, undefined, toolText(out));
  assert.equal(out.structuredContent.upstream_subject, LOGIN);
  await client.close();
  await stopFrontmcp();

  const digest = () => createHash('sha256').update(readFileSync(storePath)).digest('hex');
  const before = digest();
  started = await startFrontmcp(randomBytes(32).toString('base64'));
  assert.notEqual(started.exitCode, null, 'frontmcp started with a wrong vault key');
  assert.notEqual(started.exitCode, 0);
  assert.match(started.log, /vault key [0-9a-f]{16}, which is not configured/);
  assert.equal(digest(), before, 'the store file changed');

  started = await startFrontmcp();
  assert.equal(started.exitCode, null, started.log);
  const again = new Client({ name: 'e2e-remote', version: '1' });
  await withTimeout(again.connect(main.transport()), 2 * STEP_MS, 'connect with the right key');
  const res = await profile(again);
  assert.equal(res.isError, undefined, toolText(res));
  await again.close();

  for (const t of proxy.tokens) {
    assert.ok(!allLogs.includes(t), 'an upstream token was logged');
  }
});
