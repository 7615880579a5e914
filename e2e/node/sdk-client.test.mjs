// End-to-end tests of the embedded OAuth 2.1 authorization server with the
// official TypeScript MCP SDK client (@modelcontextprotocol/sdk): discovery
// (RFC 9728, RFC 8414) → dynamic client registration (RFC 7591) → authorization
// code with PKCE S256 (RFC 7636) and a resource indicator (RFC 8707), with the
// login and consent forms submitted headlessly → token → tools/list and
// tools/call → refresh with rotation (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2) →
// replay of a rotated refresh token → a 401-driven refresh → insufficient_scope
// (RFC 6750 §3.1) and step-up.
//
// Every test authorizes its own client, so the tests are independent.
// Run through scripts/e2e-node.sh, which starts the server and sets MCP_URL.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { auth, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import {
  authorizationURL,
  authorizeHeadless,
  decodeJWT,
  discover,
  getJSON,
  MCP_URL,
  pkce,
  randomState,
  registerClient,
  STEP_MS,
  tokenRequest,
  verifyJWT,
  withTimeout,
} from './helpers.mjs';
import { HeadlessOAuthProvider, recordingFetch } from './provider.mjs';

// The redirect URI is a loopback URL nobody listens on: the headless user
// agent stops at the Location that points to it.
const REDIRECT_URI = 'http://127.0.0.1:53682/callback';
const TEST_MS = 120_000;
const SIMPLE_TEXT = 'This is a simple text response for testing.';

function newClient() {
  return new Client({ name: 'frontmcp-e2e-sdk', version: '1.0.0' });
}

function newTransport(provider, rec) {
  return new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider, fetch: rec.fetch });
}

async function closeQuietly(client) {
  try {
    await withTimeout(client.close(), STEP_MS, 'client.close');
  } catch {
    // Closing a client whose connect failed may reject; nothing to clean up.
  }
}

/**
 * connectWithAuth does what an MCP application does on first use: connect,
 * get UnauthorizedError after the SDK ran discovery, registration and the
 * (headless) authorization, finish the authorization with the code, and
 * reconnect. It returns the connected client.
 */
async function connectWithAuth(provider, rec) {
  const first = newClient();
  const transport = newTransport(provider, rec);
  await assert.rejects(
    withTimeout(first.connect(transport), 4 * STEP_MS, 'first connect'),
    (err) => err instanceof UnauthorizedError,
    'the first connect without a token must end in UnauthorizedError (redirect to the AS)',
  );
  await closeQuietly(first);
  const a = provider.lastAuthorization;
  assert.ok(a, 'the SDK called redirectToAuthorization');
  assert.ok(a.result?.code, `the authorization response carries a code (error=${a.result?.error})`);
  await withTimeout(transport.finishAuth(a.result.code), STEP_MS, 'finishAuth');

  const client = newClient();
  await withTimeout(client.connect(newTransport(provider, rec)), 2 * STEP_MS, 'second connect');
  return client;
}

/** callText calls a tool and returns its first text content. */
async function callText(client, name) {
  const res = await withTimeout(client.callTool({ name, arguments: {} }), 2 * STEP_MS, `tools/call ${name}`);
  const text = res.content.find((c) => c.type === 'text');
  assert.ok(text, `${name} returned a text block: ${JSON.stringify(res)}`);
  return { res, text: text.text };
}

test('SDK client: discovery, DCR, PKCE authorization with login and consent, tools/list, tools/call', { timeout: TEST_MS }, async () => {
  const { prm, as, authorizationServerUrl } = await discover();
  const rec = recordingFetch();
  const provider = new HeadlessOAuthProvider({ redirectUri: REDIRECT_URI });
  const client = await connectWithAuth(provider, rec);
  try {
    // The first request was challenged (RFC 6750 §3, RFC 9728 §5.1).
    const challenged = rec.log.find((e) => e.path === new URL(MCP_URL).pathname && e.status === 401);
    assert.ok(challenged, 'the SDK saw a 401 from the MCP endpoint');
    assert.match(challenged.wwwAuthenticate ?? '', /^Bearer\b/i);
    assert.match(challenged.wwwAuthenticate ?? '', /resource_metadata="[^"]+"/);

    // Discovery and dynamic registration happened, once.
    assert.ok(rec.log.some((e) => e.path.startsWith('/.well-known/oauth-protected-resource') && e.status === 200));
    assert.ok(rec.log.some((e) => e.path.startsWith('/.well-known/oauth-authorization-server') && e.status === 200));
    const regs = rec.log.filter((e) => e.method === 'POST' && e.url.href === as.registration_endpoint);
    assert.deepEqual(regs.map((e) => e.status), [201], 'one registration, answered 201');
    assert.equal(provider.registrations.length, 1);
    const reg = provider.registrations[0];
    assert.ok(reg.client_id, 'registration returned a client_id');
    assert.equal(reg.client_secret, undefined, 'a public client gets no secret');
    assert.deepEqual(reg.redirect_uris, [REDIRECT_URI]);

    // The authorization request the SDK built.
    assert.equal(provider.authorizations.length, 1);
    const { url, result } = provider.lastAuthorization;
    assert.equal(url.origin + url.pathname, as.authorization_endpoint);
    assert.equal(url.searchParams.get('response_type'), 'code');
    assert.equal(url.searchParams.get('client_id'), reg.client_id);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.match(url.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(url.searchParams.get('resource'), prm.resource);
    assert.equal(url.searchParams.get('redirect_uri'), REDIRECT_URI);
    // SEP-835: the SDK asks for the scope the challenge named, else the PRM's scopes_supported.
    const challengeScope = /scope="([^"]*)"/.exec(challenged.wwwAuthenticate)?.[1] ?? prm.scopes_supported.join(' ');
    assert.equal(url.searchParams.get('scope'), challengeScope);

    // The user agent went through the login and the consent page, and the
    // login POST was answered with 303 (never 307: the password must not be re-posted).
    const kinds = result.log.filter((e) => e.kind).map((e) => e.kind);
    assert.deepEqual(kinds, ['login', 'consent']);
    const loginPost = result.log[result.log.findIndex((e) => e.kind === 'login') + 1];
    assert.equal(loginPost.method, 'POST');
    assert.equal(loginPost.status, 303, `login POST ${loginPost.url} answered ${loginPost.status}`);

    // The authorization response (RFC 6749 §4.1.2, RFC 9207 §2).
    assert.equal(result.error, null);
    assert.equal(result.state, url.searchParams.get('state'), 'state echoed');
    assert.equal(provider.states.at(-1), result.state);
    assert.equal(result.iss, as.issuer, 'iss equals the AS issuer');
    assert.equal(as.authorization_response_iss_parameter_supported, true);
    assert.equal(result.location.searchParams.getAll('code').length, 1);

    // The tokens the SDK saved: an RFC 9068 access token for this resource.
    const tokens = provider.tokens();
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.ok(tokens.refresh_token, 'a refresh token was issued');
    const jwks = (await getJSON(as.jwks_uri)).body;
    const at = verifyJWT(tokens.access_token, jwks);
    assert.equal(at.header.typ.toLowerCase(), 'at+jwt');
    assert.equal(at.payload.iss, as.issuer);
    assert.equal(at.payload.client_id, reg.client_id);
    assert.deepEqual([at.payload.aud].flat(), [prm.resource]);
    assert.ok(at.payload.sub, 'sub is set');
    assert.ok(at.payload.exp > at.payload.iat, 'exp after iat');
    assert.equal(tokens.issuer, authorizationServerUrl, 'the SDK stamped the tokens with the AS');

    // The MCP session works.
    const list = await withTimeout(client.listTools(), 2 * STEP_MS, 'tools/list');
    const names = list.tools.map((t) => t.name);
    assert.ok(names.includes('test_simple_text'), `tools/list: ${names.join(', ')}`);
    const { text } = await callText(client, 'test_simple_text');
    assert.equal(text, SIMPLE_TEXT);

    // Every MCP request after the authorization carried the bearer and succeeded.
    const mcpAfter = rec.log.filter((e) => e.path === new URL(MCP_URL).pathname).slice(-3);
    for (const e of mcpAfter) {
      assert.ok(e.status < 400, `${e.method} ${e.path} answered ${e.status}`);
    }
  } finally {
    await closeQuietly(client);
  }
});

test('SDK client: refresh rotates the refresh token; replaying the old one revokes the grant', { timeout: TEST_MS }, async () => {
  const { as } = await discover();
  const rec = recordingFetch();
  const provider = new HeadlessOAuthProvider({ redirectUri: REDIRECT_URI });
  const client = await connectWithAuth(provider, rec);
  try {
    const before = provider.tokens();
    const clientId = provider.clientInformation().client_id;

    // Force a refresh through the SDK's own orchestrator: with a stored
    // refresh token, auth() refreshes instead of starting a new authorization.
    const result = await withTimeout(auth(provider, { serverUrl: MCP_URL, fetchFn: rec.fetch }), STEP_MS, 'auth() refresh');
    assert.equal(result, 'AUTHORIZED');
    assert.equal(provider.authorizations.length, 1, 'no new authorization was needed');
    const refreshes = rec.log.filter((e) => e.url.href === as.token_endpoint && e.grantType === 'refresh_token');
    assert.deepEqual(refreshes.map((e) => e.status), [200]);
    const after = provider.tokens();
    assert.notEqual(after.refresh_token, before.refresh_token, 'the refresh token rotated');
    assert.notEqual(after.access_token, before.access_token, 'a new access token was issued');
    assert.equal(decodeJWT(after.access_token).payload.sub, decodeJWT(before.access_token).payload.sub);

    // The session continues with the new access token.
    const { text } = await callText(client, 'test_simple_text');
    assert.equal(text, SIMPLE_TEXT);

    // Replay of the rotated (old) refresh token: invalid_grant (RFC 6749 §5.2) ...
    const replay = await tokenRequest(as, { grant_type: 'refresh_token', refresh_token: before.refresh_token, client_id: clientId });
    assert.equal(replay.status, 400, JSON.stringify(replay.body));
    assert.equal(replay.body.error, 'invalid_grant');
    assert.match(replay.headers.get('cache-control') ?? '', /no-store/);
    assert.equal(replay.body.access_token, undefined);

    // ... and the whole grant is revoked: the current refresh token no longer works.
    const current = await tokenRequest(as, { grant_type: 'refresh_token', refresh_token: after.refresh_token, client_id: clientId });
    assert.equal(current.status, 400, JSON.stringify(current.body));
    assert.equal(current.body.error, 'invalid_grant');
    assert.equal(current.body.access_token, undefined);
  } finally {
    await closeQuietly(client);
  }
});

test('SDK client: a 401 on a bogus access token makes the SDK refresh and retry', { timeout: TEST_MS }, async () => {
  const { as } = await discover();
  const rec = recordingFetch();
  const provider = new HeadlessOAuthProvider({ redirectUri: REDIRECT_URI });
  const first = await connectWithAuth(provider, rec);
  await closeQuietly(first);

  const good = provider.tokens();
  const bogus = `${good.access_token.slice(0, -8)}AAAAAAAA`; // a JWT whose signature no longer verifies
  provider.setTokens({ ...good, access_token: bogus });
  const mark = rec.log.length;

  const client = newClient();
  try {
    await withTimeout(client.connect(newTransport(provider, rec)), 3 * STEP_MS, 'connect with a bogus token');
    const traffic = rec.log.slice(mark);

    const denied = traffic.find((e) => e.status === 401 && e.path === new URL(MCP_URL).pathname);
    assert.ok(denied, 'the bogus token was rejected with 401');
    assert.match(denied.wwwAuthenticate ?? '', /error="invalid_token"/);
    const refreshes = traffic.filter((e) => e.url.href === as.token_endpoint && e.grantType === 'refresh_token');
    assert.deepEqual(refreshes.map((e) => e.status), [200], 'the SDK refreshed once');
    assert.equal(provider.authorizations.length, 1, 'no new interactive authorization');

    const now = provider.tokens();
    assert.notEqual(now.access_token, bogus);
    assert.notEqual(now.refresh_token, good.refresh_token, 'the refresh rotated the refresh token');
    const { text } = await callText(client, 'test_simple_text');
    assert.equal(text, SIMPLE_TEXT);
  } finally {
    await closeQuietly(client);
  }
});

/**
 * narrowAuthorization registers a client and runs one headless authorization
 * for exactly `scope`, returning the client registration and the tokens, both
 * stamped with the AS the way the SDK stores them.
 */
async function narrowAuthorization(scope) {
  const { prm, as, authorizationServerUrl } = await discover();
  const reg = await registerClient(as, { clientName: 'frontmcp e2e sdk client', redirectUris: [REDIRECT_URI] });
  const { verifier, challenge } = pkce();
  const state = randomState();
  const url = authorizationURL(as, {
    clientId: reg.client_id,
    redirectUri: REDIRECT_URI,
    challenge,
    state,
    scope,
    resource: prm.resource,
  });
  const r = await authorizeHeadless(url, { redirectUri: REDIRECT_URI });
  assert.equal(r.state, state);
  assert.ok(r.code, `authorization for scope "${scope}" returned a code (error=${r.error})`);
  const tok = await tokenRequest(as, {
    grant_type: 'authorization_code',
    code: r.code,
    redirect_uri: REDIRECT_URI,
    client_id: reg.client_id,
    code_verifier: verifier,
    resource: prm.resource,
  });
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  return {
    as,
    prm,
    clientInformation: { ...reg, issuer: authorizationServerUrl },
    tokens: { ...tok.body, issuer: authorizationServerUrl },
  };
}

function scopesOf(accessToken) {
  return String(decodeJWT(accessToken).payload.scope ?? '').split(' ').filter(Boolean);
}

test('SDK client: insufficient_scope on test_error_handling without mcp:admin, then step-up', { timeout: TEST_MS }, async () => {
  const narrow = await narrowAuthorization('mcp:tools');
  assert.deepEqual(scopesOf(narrow.tokens.access_token), ['mcp:tools']);

  const rec = recordingFetch();
  const provider = new HeadlessOAuthProvider({
    redirectUri: REDIRECT_URI,
    clientInformation: narrow.clientInformation,
    tokens: narrow.tokens,
  });
  const client = newClient();
  let transport = newTransport(provider, rec);
  try {
    await withTimeout(client.connect(transport), 2 * STEP_MS, 'connect with an mcp:tools token');
    const { text } = await callText(client, 'test_simple_text');
    assert.equal(text, SIMPLE_TEXT, 'mcp:tools is enough for the other tools');

    // 1. With a refresh token stored, the SDK answers the 403 by refreshing
    //    (which cannot widen the scope) and retrying once; the server still says
    //    403 insufficient_scope and the SDK gives up.
    const mark = rec.log.length;
    await assert.rejects(
      withTimeout(client.callTool({ name: 'test_error_handling', arguments: {} }), 3 * STEP_MS, 'tools/call test_error_handling'),
      (err) => {
        assert.match(String(err?.message), /403/);
        return true;
      },
    );
    const traffic = rec.log.slice(mark);
    const forbidden = traffic.filter((e) => e.status === 403);
    assert.ok(forbidden.length >= 1, 'the server answered 403');
    for (const e of forbidden) {
      assert.match(e.wwwAuthenticate ?? '', /^Bearer\b/i);
      assert.match(e.wwwAuthenticate ?? '', /error="insufficient_scope"/);
      assert.match(e.wwwAuthenticate ?? '', /scope="[^"]*\bmcp:admin\b[^"]*"/);
    }
    const refreshes = traffic.filter((e) => e.grantType === 'refresh_token');
    assert.deepEqual(refreshes.map((e) => e.status), [200], 'the SDK refreshed once before giving up');
    assert.ok(!scopesOf(provider.tokens().access_token).includes('mcp:admin'), 'a refresh never widens the scope');
    assert.equal(provider.authorizations.length, 0, 'no interactive authorization yet');

    // 2. Without a refresh token the SDK steps up: it re-runs the authorization
    //    with the scope from the challenge; the application finishes it and retries.
    const { refresh_token: _dropped, ...accessOnly } = provider.tokens();
    provider.setTokens(accessOnly);
    await closeQuietly(client);
    const client2 = newClient();
    transport = newTransport(provider, rec);
    try {
      await withTimeout(client2.connect(transport), 2 * STEP_MS, 'reconnect');
      await assert.rejects(
        withTimeout(client2.callTool({ name: 'test_error_handling', arguments: {} }), 4 * STEP_MS, 'tools/call test_error_handling (step-up)'),
        (err) => err instanceof UnauthorizedError,
      );
      assert.equal(provider.authorizations.length, 1, 'the SDK re-ran the authorization');
      const { url, result } = provider.lastAuthorization;
      const requested = (url.searchParams.get('scope') ?? '').split(' ');
      assert.ok(requested.includes('mcp:admin'), `step-up requested scope "${url.searchParams.get('scope')}"`);
      assert.equal(result.state, url.searchParams.get('state'));
      assert.equal(result.iss, narrow.as.issuer);
      await withTimeout(transport.finishAuth(result.code), STEP_MS, 'finishAuth (step-up)');
      assert.ok(scopesOf(provider.tokens().access_token).includes('mcp:admin'), 'the new token carries mcp:admin');

      const res = await withTimeout(
        client2.callTool({ name: 'test_error_handling', arguments: {} }),
        2 * STEP_MS,
        'tools/call test_error_handling after step-up',
      );
      // The tool itself always reports a tool error (isError), which proves it ran.
      assert.equal(res.isError, true);
      assert.match(res.content.find((c) => c.type === 'text')?.text ?? '', /intentionally returns an error/);
    } finally {
      await closeQuietly(client2);
    }
  } finally {
    await closeQuietly(client);
  }
});
