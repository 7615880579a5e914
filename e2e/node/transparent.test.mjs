// End-to-end tests of transparent mode against a real, OpenID-certified
// identity provider: oidc-provider 9 (npm) with resource indicators
// (RFC 8707) issuing RFC 9068 JWT access tokens, in this process; and the
// frontmcp binary (`frontmcp serve`, auth.mode transparent) as a child
// process that trusts it.
//
//   - discovery: the server's protected resource metadata names the provider
//     and the server has no OAuth endpoints of its own;
//   - the official TypeScript MCP SDK client does the whole MCP authorization
//     flow at the provider (metadata, DCR, PKCE, resource, login and consent
//     through the provider's development interactions) and calls a tool;
//   - client-credentials tokens with a resource indicator; requiredScopes;
//   - the negative cases: wrong or missing aud, wrong iss, expired, nbf in
//     the future, alg none, HS256 signed with the public key, an unknown kid,
//     a flipped signature bit, an ID token used as an access token, a token in
//     the query string;
//   - the provider rotates its key: accepted without restarting the server;
//   - 1000 requests with random kids: key set fetches stay within the rate
//     limit (jwksCacheTtl.min);
//   - the key set endpoint goes down: tokens keep validating on the cached
//     keys, then the server fails closed (503).
//
// Run through scripts/e2e-transparent.sh, which builds the binary and sets
// FRONTMCP_BIN and MCP_URL (the port the server is to listen on).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import * as jose from 'jose';
import Provider from 'oidc-provider';

import { CookieJar, decodeJWT, getJSON, MCP_URL, parseForms, STEP_MS, timedFetch, withTimeout } from './helpers.mjs';
import { HeadlessOAuthProvider, recordingFetch } from './provider.mjs';

const FRONTMCP_BIN = process.env.FRONTMCP_BIN;
const REDIRECT_URI = 'http://127.0.0.1:53683/callback';
const TEST_MS = 120_000;
const LOGIN = 'carol';
const SERVICE = { id: 'e2e-service', secret: randomBytes(24).toString('base64url') };
const WEB = 'e2e-web'; // a public client for authorization code + openid

// The server's key set cache: refetch at most once a second, keep keys at
// most 3 s (the provider sends no Cache-Control), use them 4 s more while
// the provider is down. Short, so that the tests run in seconds.
const JWKS_MIN_MS = 1000;
const JWKS_MAX_MS = 3000;
const JWKS_STALE_MS = 4000;

// ---------------------------------------------------------------------------
// The identity provider

/**
 * IdP is oidc-provider on a loopback port. Its signing keys can be replaced
 * (a new Provider instance on the same listener: a key rotation), its key set
 * requests are counted, and it can be stopped.
 */
class IdP {
  jwksGets = 0;
  lastJwksAt = 0;
  #server = createServer();
  #provider;

  async start() {
    await new Promise((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.issuer = `http://127.0.0.1:${this.#server.address().port}`;
  }

  /** use makes a provider signing with keys (private JWKs; the first signs). */
  use(keys) {
    this.keys = keys;
    const provider = new Provider(this.issuer, {
      clients: [
        {
          client_id: SERVICE.id,
          client_secret: SERVICE.secret,
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
          scope: 'mcp:tools mcp:admin',
        },
        {
          client_id: WEB,
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          redirect_uris: [REDIRECT_URI],
          response_types: ['code'],
          scope: 'openid mcp:tools mcp:admin',
        },
      ],
      clientDefaults: { id_token_signed_response_alg: 'ES256' },
      jwks: { keys },
      // offline_access enables the refresh_token grant the SDK client registers for.
      scopes: ['openid', 'offline_access', 'mcp:tools', 'mcp:admin'],
      cookies: { keys: [randomBytes(16).toString('hex')] },
      findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
      pkce: { required: () => true },
      ttl: { ClientCredentials: 300, AccessToken: 300, IdToken: 300, Interaction: 600, Session: 3600, Grant: 3600 },
      features: {
        devInteractions: { enabled: true },
        clientCredentials: { enabled: true },
        registration: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => undefined,
          useGrantedResource: () => true,
          // Any resource gets RFC 9068 JWT access tokens whose aud is
          // the resource indicator.
          getResourceServerInfo: (_ctx, resourceIndicator) => ({
            scope: 'mcp:tools mcp:admin',
            audience: resourceIndicator,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          }),
        },
      },
    });
    provider.use(async (ctx, next) => {
      if (ctx.path === '/jwks') {
        this.jwksGets++;
        this.lastJwksAt = Date.now();
      }
      await next();
    });
    this.#provider = provider;
    this.#server.removeAllListeners('request');
    this.#server.on('request', provider.callback());
  }

  /** stop closes the listener and every connection: the provider is down. */
  async stop() {
    const closed = new Promise((resolve) => this.#server.close(resolve));
    this.#server.closeAllConnections();
    await closed;
  }

  /** clientCredentials returns a token for the service client (RFC 6749 §4.4). */
  async clientCredentials({ scope = 'mcp:tools', resource = MCP_URL } = {}) {
    const res = await timedFetch(`${this.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${SERVICE.id}:${SERVICE.secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, `client_credentials: ${JSON.stringify(body)}`);
    return body.access_token;
  }
}

/** newKey generates a P-256 signing key as a private JWK with a kid. */
async function newKey() {
  const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  return { ...jwk, kid: randomBytes(8).toString('hex'), alg: 'ES256', use: 'sig' };
}

/**
 * interact plays the user at the provider's development interactions: it
 * follows redirects with cookies, logs in as LOGIN, consents, and returns the
 * authorization response parameters found at redirectUri.
 */
async function interact(authorizationUrl, redirectUri, jar = new CookieJar()) {
  let req = { url: String(authorizationUrl), method: 'GET' };
  for (let step = 0; step < 12; step++) {
    const headers = { accept: 'text/html' };
    const cookie = jar.header(req.url);
    if (cookie) headers.cookie = cookie;
    if (req.body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await timedFetch(req.url, { method: req.method, headers, body: req.body, redirect: 'manual' });
    jar.store(req.url, res);
    if ([301, 302, 303, 307, 308].includes(res.status)) {
      await res.body?.cancel();
      const loc = new URL(res.headers.get('location'), req.url);
      if (loc.href.startsWith(redirectUri)) return loc.searchParams;
      req = { url: loc.href, method: 'GET' };
      continue;
    }
    const html = await res.text();
    assert.equal(res.status, 200, `${req.method} ${req.url}: ${html.slice(0, 300)}`);
    const form = parseForms(html, req.url).find((f) => f.fields.some((x) => x.name === 'prompt'));
    assert.ok(form, `${req.url}: no interaction form`);
    const prompt = form.fields.find((x) => x.name === 'prompt').value;
    const body = new URLSearchParams({ prompt });
    if (prompt === 'login') {
      body.set('login', LOGIN);
      body.set('password', 'any');
    }
    req = { url: form.action, method: 'POST', body: body.toString() };
  }
  throw new Error(`no redirect to ${redirectUri}`);
}

/** OIDCProviderUser is the SDK's OAuth client provider, logging in at oidc-provider. */
class OIDCProviderUser extends HeadlessOAuthProvider {
  async redirectToAuthorization(authorizationUrl) {
    const url = new URL(authorizationUrl);
    const entry = { url, result: undefined };
    this.authorizations.push(entry);
    const q = await interact(url, this.redirectUri, this.jar);
    entry.result = { code: q.get('code'), state: q.get('state'), iss: q.get('iss'), error: q.get('error') };
  }
}

// ---------------------------------------------------------------------------
// The frontmcp server

const idp = new IdP();
let key1; // the provider's first signing key (private JWK)
let work;
let server;
let serverLog = '';

async function startFrontmcp() {
  work = mkdtempSync(path.join(tmpdir(), 'frontmcp-transparent-'));
  const config = path.join(work, 'frontmcp.yaml');
  writeFileSync(
    config,
    [
      'environment: development',
      'info: {name: frontmcp-e2e-transparent, version: 1.0.0}',
      'logging: {level: info}',
      'auth:',
      '  mode: transparent',
      '  tokenStorage: {type: memory}',
      `  provider: ${JSON.stringify(idp.issuer)}`,
      `  expectedAudience: ${JSON.stringify(MCP_URL)}`,
      '  scopes: [mcp:tools, mcp:admin]',
      '  transparent:',
      '    requiredScopes: [mcp:tools]',
      '    requireTyp: true',
      `    jwksCacheTtl: {min: ${JWKS_MIN_MS}ms, max: ${JWKS_MAX_MS}ms, stale: ${JWKS_STALE_MS}ms}`,
      '',
    ].join('\n'),
  );
  const port = new URL(MCP_URL).port;
  server = spawn(FRONTMCP_BIN, ['serve', '--config', config, '--port', port], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout.on('data', (b) => (serverLog += b));
  server.stderr.on('data', (b) => (serverLog += b));
  const ready = new URL('/readyz', MCP_URL).href;
  for (let i = 0; i < 300; i++) {
    if (server.exitCode !== null) break;
    try {
      const res = await timedFetch(ready, { timeoutMs: 1000 });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`frontmcp did not become ready:\n${serverLog}`);
}

before(async () => {
  assert.ok(FRONTMCP_BIN, 'FRONTMCP_BIN is not set; run through scripts/e2e-transparent.sh');
  await idp.start();
  key1 = await newKey();
  idp.use([key1]);
  await startFrontmcp();
});

after(async () => {
  server?.kill('SIGTERM');
  if (server && server.exitCode === null) await new Promise((resolve) => server.once('exit', resolve));
  await idp.stop().catch(() => {});
  if (work) rmSync(work, { recursive: true, force: true });
  if (process.exitCode) console.error(`frontmcp log:\n${serverLog}`);
});

// ---------------------------------------------------------------------------
// Helpers

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'e2e-transparent', version: '1' } },
});

/** post sends an MCP initialize with the bearer token (none when empty). */
async function post(token, url = MCP_URL) {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await timedFetch(url, { method: 'POST', headers, body: INITIALIZE });
  const text = await res.text();
  return { status: res.status, challenge: res.headers.get('www-authenticate') ?? '', text };
}

/** forge signs claims with key (defaults: a valid RFC 9068 token for MCP_URL). */
async function forge(key, { claims = {}, header = {}, drop = [] } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: idp.issuer, sub: 'mallory', aud: MCP_URL, exp: now + 300, iat: now,
    jti: randomBytes(8).toString('hex'), client_id: SERVICE.id, scope: 'mcp:tools', ...claims,
  };
  for (const k of drop) delete payload[k];
  const privateKey = await jose.importJWK(key, 'ES256');
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid, ...header })
    .sign(privateKey);
}

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** waitFor polls cond (every 100 ms, up to ms) and returns how long it took. */
async function waitFor(cond, ms, what) {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await cond()) return Date.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** sinceLastFetch waits until the rate limit allows another key set fetch. */
async function afterRateLimit() {
  await waitFor(() => Date.now() - idp.lastJwksAt > JWKS_MIN_MS + 200, 10_000, 'the key set rate limit to pass');
}

// ---------------------------------------------------------------------------
// Tests

test('protected resource metadata names the identity provider; no OAuth endpoints', { timeout: TEST_MS }, async () => {
  const res = await post('');
  assert.equal(res.status, 401);
  const metaURL = /resource_metadata="([^"]+)"/.exec(res.challenge)?.[1];
  assert.ok(metaURL, `challenge ${res.challenge} names resource_metadata`);
  const prm = await getJSON(metaURL);
  assert.equal(prm.status, 200);
  assert.equal(prm.body.resource, MCP_URL);
  assert.deepEqual(prm.body.authorization_servers, [idp.issuer]);
  for (const p of ['/oauth/token', '/oauth/authorize', '/oauth/register', '/.well-known/oauth-authorization-server', '/.well-known/jwks.json']) {
    const r = await timedFetch(new URL(p, MCP_URL));
    await r.body?.cancel();
    assert.equal(r.status, 404, `${p} on the transparent server`);
  }
});

test('the MCP SDK client authorizes at the provider and calls a tool', { timeout: TEST_MS }, async () => {
  const user = new OIDCProviderUser({ redirectUri: REDIRECT_URI, clientName: 'frontmcp e2e transparent' });
  const rec = recordingFetch();
  const transport = () => new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: user, fetch: rec.fetch });
  const first = new Client({ name: 'e2e-transparent', version: '1' });
  const t1 = transport();
  await assert.rejects(withTimeout(first.connect(t1), 4 * STEP_MS, 'first connect'), (e) => e instanceof UnauthorizedError);
  await first.close().catch(() => {});
  const a = user.lastAuthorization;
  assert.ok(a?.result?.code, `authorization response: ${JSON.stringify(a?.result)}`);
  assert.equal(a.url.origin, idp.issuer, 'the SDK was sent to the external provider');
  assert.equal(a.url.searchParams.get('resource'), MCP_URL, 'with a resource indicator');
  assert.equal(a.url.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(user.registrations.length === 1, 'the SDK registered at the provider (DCR)');
  await withTimeout(t1.finishAuth(a.result.code), STEP_MS, 'finishAuth');

  const { header, payload } = decodeJWT(user.tokens().access_token);
  assert.equal(header.typ, 'at+jwt');
  assert.equal(payload.iss, idp.issuer);
  assert.equal(payload.aud, MCP_URL);

  const client = new Client({ name: 'e2e-transparent', version: '1' });
  await withTimeout(client.connect(transport()), 2 * STEP_MS, 'second connect');
  try {
    const res = await withTimeout(client.callTool({ name: 'whoami', arguments: {} }), STEP_MS, 'whoami');
    assert.equal(res.isError, undefined);
    assert.equal(res.structuredContent.subject, LOGIN);
    assert.equal(res.structuredContent.anonymous, false);
    assert.equal(res.structuredContent.client_id, user.clientInformation().client_id);
    assert.ok(res.structuredContent.scopes.includes('mcp:tools'));
  } finally {
    await client.close();
  }
});

test('client-credentials tokens; requiredScopes gives 403 insufficient_scope', { timeout: TEST_MS }, async () => {
  const ok = await post(await idp.clientCredentials({ scope: 'mcp:tools' }));
  assert.equal(ok.status, 200, ok.text);
  const admin = await post(await idp.clientCredentials({ scope: 'mcp:admin' }));
  assert.equal(admin.status, 403);
  assert.match(admin.challenge, /error="insufficient_scope"/);
  assert.match(admin.challenge, /scope="mcp:admin mcp:tools"/);
});

test('tokens that must be refused are refused', { timeout: TEST_MS }, async () => {
  const now = Math.floor(Date.now() / 1000);
  const valid = await forge(key1);
  assert.equal((await post(valid)).status, 200, 'a token forged with the provider key and valid claims is accepted (control)');

  const publicPEM = await jose.exportSPKI(await jose.importJWK({ ...key1, d: undefined }, 'ES256'));
  const hs256 = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(decodeJWT(valid).payload)))
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: key1.kid })
    .sign(new TextEncoder().encode(publicPEM));
  const [h, p, s] = valid.split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[10] ^= 0x01;

  // An ID token from the provider: authorization code flow with openid.
  const verifier = randomBytes(32).toString('base64url');
  const authURL = new URL(`${idp.issuer}/auth`);
  authURL.search = new URLSearchParams({
    response_type: 'code', client_id: WEB, redirect_uri: REDIRECT_URI, scope: 'openid mcp:tools', resource: MCP_URL,
    state: randomBytes(8).toString('hex'), nonce: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  }).toString();
  const q = await interact(authURL, REDIRECT_URI);
  const tokenRes = await timedFetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: q.get('code'), redirect_uri: REDIRECT_URI, client_id: WEB, code_verifier: verifier, resource: MCP_URL }),
  });
  const tokens = await tokenRes.json();
  assert.equal(tokenRes.status, 200, JSON.stringify(tokens));
  assert.ok(tokens.id_token, 'the provider issued an ID token');
  assert.equal((await post(tokens.access_token)).status, 200, 'the access token of the same response is accepted (control)');

  const cases = [
    ['wrong aud (minted for another resource)', await idp.clientCredentials({ resource: 'https://other-service.example/api' }), 'not issued for this resource'],
    ['missing aud', await forge(key1, { drop: ['aud'] }), 'lacks a required claim'],
    ['wrong iss', await forge(key1, { claims: { iss: 'https://evil.example' } }), 'expected identity provider'],
    ['expired', await forge(key1, { claims: { exp: now - 120, iat: now - 420 } }), 'expired'],
    ['nbf in the future', await forge(key1, { claims: { nbf: now + 3600 } }), 'not valid yet'],
    ['alg none', `${b64({ alg: 'none', typ: 'at+jwt', kid: key1.kid })}.${p}.`, 'malformed'],
    ['alg none with a signature', `${b64({ alg: 'none', typ: 'at+jwt', kid: key1.kid })}.${p}.${s}`, 'signature is not valid'],
    ['HS256 signed with the public key', hs256, 'signature is not valid'],
    ['flipped signature bit', `${h}.${p}.${sig.toString('base64url')}`, 'signature is not valid'],
    ['ID token as access token', tokens.id_token, 'not an access token'],
  ];
  for (const [name, token, why] of cases) {
    const res = await post(token);
    assert.equal(res.status, 401, `${name}: ${res.status} ${res.challenge}`);
    assert.match(res.challenge, /error="invalid_token"/, name);
    assert.ok(res.challenge.includes(why), `${name}: challenge ${res.challenge} should say "${why}"`);
  }

  const query = await timedFetch(`${MCP_URL}?access_token=${valid}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: INITIALIZE,
  });
  await query.body?.cancel();
  assert.equal(query.status, 400, 'a token in the query string is refused');
});

test('an unknown kid causes exactly one key set refetch, then 401', { timeout: TEST_MS }, async () => {
  await afterRateLimit();
  const stranger = await newKey();
  const before = idp.jwksGets;
  for (let i = 0; i < 3; i++) {
    const res = await post(await forge(stranger));
    assert.equal(res.status, 401, `attempt ${i}`);
    assert.match(res.challenge, /error="invalid_token"/);
  }
  assert.equal(idp.jwksGets - before, 1, 'one refetch for three tokens with the same unknown kid');
});

test('the provider rotates its key: the new key is accepted without a restart', { timeout: TEST_MS }, async () => {
  const oldToken = await idp.clientCredentials();
  assert.equal((await post(oldToken)).status, 200);
  const key2 = await newKey();
  idp.use([key2]); // the old key is withdrawn
  const newToken = await idp.clientCredentials();
  assert.equal(decodeJWT(newToken).header.kid, key2.kid);
  // Accepted once the rate limit allows the refetch its unknown kid asks for.
  await waitFor(async () => (await post(newToken)).status === 200, 10_000, 'the new key to be accepted');
  const old = await post(oldToken);
  assert.equal(old.status, 401, 'the withdrawn key no longer verifies (cached or not)');
  key1 = key2;
});

test('1000 requests with random kids stay within the key set rate limit', { timeout: TEST_MS }, async () => {
  const before = idp.jwksGets;
  const start = Date.now();
  const tokens = await Promise.all(Array.from({ length: 1000 }, async () => forge({ ...key1, kid: randomBytes(12).toString('hex') })));
  let next = 0;
  const statuses = new Map();
  await Promise.all(
    Array.from({ length: 25 }, async () => {
      while (next < tokens.length) {
        const res = await post(tokens[next++]);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }),
  );
  const elapsed = Date.now() - start;
  const fetches = idp.jwksGets - before;
  const limit = 1 + Math.ceil(elapsed / JWKS_MIN_MS);
  assert.deepEqual([...statuses], [[401, 1000]]);
  assert.ok(fetches <= limit, `${fetches} key set fetches in ${elapsed} ms for 1000 random kids; the rate limit allows ${limit}`);
  console.log(`# 1000 random kids: ${fetches} key set fetches in ${elapsed} ms (limit ${limit})`);
});

test('the key set endpoint goes down: cached keys, then fail closed', { timeout: TEST_MS }, async () => {
  const token = await idp.clientCredentials();
  assert.equal((await post(token)).status, 200);
  await idp.stop();
  const down = Date.now();
  assert.equal((await post(token)).status, 200, 'right after the provider went down, the cached keys still verify');
  // Lifetime (at most 3 s) + stale limit (4 s): then 503.
  const took = await waitFor(async () => (await post(token)).status === 503, 20_000, 'the server to fail closed');
  const res = await post(token);
  assert.equal(res.status, 503);
  assert.match(res.text, /temporarily_unavailable/);
  assert.ok(took >= JWKS_STALE_MS - 500, `failed closed ${took} ms after the outage; the stale limit is ${JWKS_STALE_MS} ms`);
  assert.match(serverLog, /jwks fetch failed/, 'the failures are logged');
  assert.ok(!serverLog.includes(token), 'the token is not logged');
  console.log(`# failed closed ${Date.now() - down} ms after the provider went down`);
});
