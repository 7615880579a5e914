// End-to-end tests of the embedded authorization server's login and consent
// pages in a real browser: headless Debian Chromium driven by playwright-core
// (never a downloaded browser). A client registered through DCR (RFC 7591)
// sends an authorization request with PKCE S256 (RFC 7636), state and a
// resource indicator (RFC 8707); the browser logs in, approves and lands on a
// loopback redirect URI (RFC 8252 §7.3) served by the test, which then
// redeems the code for an RFC 9068 access token. Screenshots of every page go
// to e2e/artifacts/.
//
// Run through scripts/e2e-node.sh, which starts the server and sets MCP_URL
// and CHROMIUM.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';

import { chromium } from 'playwright-core';

import {
  artifactPath,
  authorizationURL,
  discover,
  getJSON,
  PASSWORD,
  pkce,
  randomState,
  registerClient,
  STEP_MS,
  tokenRequest,
  USERNAME,
  verifyJWT,
  withTimeout,
} from './helpers.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TEST_MS = 120_000;
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * startCallbackServer listens on a free loopback port and records the query
 * of every request to /callback; `next()` resolves with the first one.
 */
async function startCallbackServer() {
  const hits = [];
  let resolveFirst;
  const first = new Promise((resolve) => {
    resolveFirst = resolve;
  });
  const server = createServer((req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    if (u.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    hits.push(u.searchParams);
    resolveFirst(u.searchParams);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      '<!doctype html><html><head><title>Callback received</title></head>' +
        '<body><h1>Authorization response received</h1><p>The test client got the redirect.</p></body></html>',
    );
  });
  await withTimeout(new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)), STEP_MS, 'callback listen');
  const { port } = server.address();
  return {
    redirectUri: `http://127.0.0.1:${port}/callback`,
    hits,
    next: () => withTimeout(first, STEP_MS, 'the browser reaching the redirect URI'),
    close: () => withTimeout(new Promise((resolve) => server.close(resolve)), STEP_MS, 'callback close'),
  };
}

/**
 * withBrowser launches Chromium with a fresh profile, opens a page that
 * records every main-frame document response, runs fn and closes everything.
 */
async function withBrowser(fn) {
  const browser = await withTimeout(
    chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: STEP_MS }),
    STEP_MS * 2,
    'chromium.launch',
  );
  try {
    const context = await withTimeout(browser.newContext(), STEP_MS, 'newContext');
    const page = await withTimeout(context.newPage(), STEP_MS, 'newPage');
    page.setDefaultTimeout(STEP_MS);
    page.setDefaultNavigationTimeout(STEP_MS);
    const documents = [];
    page.on('response', (r) => {
      if (r.request().isNavigationRequest() && r.frame() === page.mainFrame()) {
        documents.push(r);
      }
    });
    return await fn({ page, context, documents });
  } finally {
    await withTimeout(browser.close(), STEP_MS, 'browser.close').catch(() => {});
  }
}

/** assertPageHeaders checks the anti-framing and privacy headers every AS page must carry. */
async function assertPageHeaders(response, what) {
  assert.ok(response, `${what}: a document response`);
  const h = await withTimeout(response.allHeaders(), STEP_MS, `${what} headers`);
  assert.equal((h['x-frame-options'] ?? '').toUpperCase(), 'DENY', `${what}: X-Frame-Options`);
  assert.match(h['content-security-policy'] ?? '', /frame-ancestors 'none'/, `${what}: CSP frame-ancestors`);
  assert.equal((h['x-content-type-options'] ?? '').toLowerCase(), 'nosniff', `${what}: X-Content-Type-Options`);
  assert.equal((h['referrer-policy'] ?? '').toLowerCase(), 'no-referrer', `${what}: Referrer-Policy`);
  assert.match(h['content-type'] ?? '', /^text\/html/, `${what}: Content-Type`);
}

/** lastDocument returns the newest 200 main-frame document response. */
function lastDocument(documents) {
  return documents.filter((r) => r.status() === 200).at(-1);
}

/** setCookieLines returns every Set-Cookie header line the documents carried. */
async function setCookieLines(documents) {
  const lines = [];
  for (const r of documents) {
    for (const { name, value } of await withTimeout(r.headersArray(), STEP_MS, 'headersArray')) {
      if (name.toLowerCase() === 'set-cookie') lines.push(...value.split('\n'));
    }
  }
  return lines;
}

/** labelsOf returns the texts of the <label> elements bound to the control matching selector. */
async function labelsOf(page, selector) {
  return page.locator(selector).evaluate((el) => [...(el.labels ?? [])].map((l) => l.textContent.trim()));
}

/** loginSubmit is the login form's submit control. */
function loginSubmit(page) {
  return page.locator('form:has(input[name="password"]) [type="submit"], form:has(input[name="password"]) button:not([type])').first();
}

/** newAuthorization registers a client for redirectUri and builds an authorization URL. */
async function newAuthorization(redirectUri, clientName) {
  const { prm, as } = await discover();
  const reg = await registerClient(as, { clientName, redirectUris: [redirectUri] });
  const { verifier, challenge } = pkce();
  const state = randomState();
  const url = authorizationURL(as, {
    clientId: reg.client_id,
    redirectUri,
    challenge,
    state,
    scope: 'mcp:tools',
    resource: prm.resource,
  });
  return { prm, as, reg, verifier, state, url };
}

test('browser: login page, consent page, approve, callback, code exchange', { timeout: TEST_MS }, async () => {
  const cb = await startCallbackServer();
  try {
    const clientName = 'Frontmcp E2E Browser Client';
    const { prm, as, reg, verifier, state, url } = await newAuthorization(cb.redirectUri, clientName);

    await withBrowser(async ({ page, documents }) => {
      // Login page.
      await page.goto(url.href);
      await assertPageHeaders(lastDocument(documents), 'login page');
      assert.ok((await page.title()).trim().length > 0, 'the login page has a title');
      await page.locator('input[name="username"]').waitFor();
      assert.equal(await page.locator('input[name="password"]').getAttribute('type'), 'password');
      assert.ok((await labelsOf(page, 'input[name="username"]')).some((t) => t.length > 0), 'username has a label');
      assert.ok((await labelsOf(page, 'input[name="password"]')).some((t) => t.length > 0), 'password has a label');
      const form = page.locator('form:has(input[name="password"])');
      assert.equal((await form.getAttribute('method'))?.toLowerCase(), 'post');
      assert.match(new URL(await form.getAttribute('action'), page.url()).pathname, /^\/oauth\/login$/);
      assert.equal(await form.locator('input[type="hidden"][name="csrf"]').count(), 1, 'hidden csrf field');
      assert.equal(await form.locator('input[type="hidden"][name="request"]').count(), 1, 'hidden request field');
      assert.ok((await form.locator('input[name="csrf"]').inputValue()).length >= 16, 'csrf token is not trivial');
      await page.screenshot({ path: artifactPath('login.png'), fullPage: true });

      // Log in; the POST is answered 303 to the consent page.
      await page.fill('input[name="username"]', USERNAME);
      await page.fill('input[name="password"]', PASSWORD);
      await loginSubmit(page).click();
      await page.locator('[name="consent"][value="approve"]').waitFor();
      const loginPost = documents.find((r) => r.request().method() === 'POST');
      assert.ok(loginPost, 'the login form was POSTed');
      assert.equal(loginPost.status(), 303, 'login POST answered 303');

      // Consent page: names the client, the redirect host and the scopes.
      await assertPageHeaders(lastDocument(documents), 'consent page');
      const consentText = await page.locator('body').innerText();
      assert.ok(consentText.includes(clientName), `consent page names the client: ${consentText}`);
      const redirectHost = new URL(cb.redirectUri).host;
      assert.ok(consentText.includes(redirectHost), `consent page names the redirect host ${redirectHost}: ${consentText}`);
      assert.ok(consentText.includes(prm.resource), `consent page names the resource: ${consentText}`);
      assert.ok(consentText.includes('mcp:tools'), `consent page lists the scope: ${consentText}`);
      assert.equal(await page.locator('[name="consent"][value="deny"]').count(), 1, 'a deny button');
      assert.equal(await page.locator('form:has([name="consent"]) input[type="hidden"][name="csrf"]').count(), 1);
      await page.screenshot({ path: artifactPath('consent.png'), fullPage: true });

      // Cookies: HttpOnly, SameSite=Lax (plain http here, so not Secure/__Host-).
      const cookies = await setCookieLines(documents);
      const authz = cookies.filter((l) => /^frontmcp-authz=/.test(l));
      assert.ok(authz.length > 0, `frontmcp-authz cookie set: ${cookies.join(' | ')}`);
      for (const line of authz) {
        assert.match(line, /;\s*HttpOnly/i, line);
        assert.match(line, /;\s*SameSite=Lax/i, line);
      }

      // Approve: the browser lands on the loopback redirect URI.
      const [params] = await Promise.all([cb.next(), page.locator('[name="consent"][value="approve"]').click()]);
      await page.waitForURL((u) => u.href.startsWith(cb.redirectUri));
      assert.equal(await page.title(), 'Callback received');
      await page.screenshot({ path: artifactPath('callback.png'), fullPage: true });

      assert.equal(cb.hits.length, 1, 'exactly one callback');
      assert.ok(params.get('code'), 'callback carries code');
      assert.equal(params.get('state'), state, 'callback carries the state');
      assert.equal(params.get('iss'), as.issuer, 'callback carries iss = issuer (RFC 9207)');
      assert.equal(params.get('error'), null);

      // Redeem the code (RFC 6749 §4.1.3) with the PKCE verifier.
      const tokenParams = {
        grant_type: 'authorization_code',
        code: params.get('code'),
        redirect_uri: cb.redirectUri,
        client_id: reg.client_id,
        code_verifier: verifier,
        resource: prm.resource,
      };
      const tok = await tokenRequest(as, tokenParams);
      assert.equal(tok.status, 200, JSON.stringify(tok.body));
      assert.match(tok.headers.get('cache-control') ?? '', /no-store/);
      assert.equal(String(tok.body.token_type).toLowerCase(), 'bearer');
      assert.ok(tok.body.refresh_token, 'a refresh token');
      assert.ok(Number.isInteger(tok.body.expires_in) && tok.body.expires_in > 0, 'expires_in');

      const jwks = (await getJSON(as.jwks_uri)).body;
      const at = verifyJWT(tok.body.access_token, jwks);
      assert.equal(at.header.typ.toLowerCase(), 'at+jwt', 'RFC 9068 typ');
      assert.ok(at.header.kid, 'kid');
      assert.equal(at.payload.iss, as.issuer);
      assert.deepEqual([at.payload.aud].flat(), [prm.resource]);
      assert.equal(at.payload.client_id, reg.client_id);
      assert.deepEqual(String(at.payload.scope).split(' '), ['mcp:tools']);
      assert.ok(at.payload.sub && at.payload.jti, 'sub and jti');
      assert.equal(at.payload.exp - at.payload.iat, tok.body.expires_in);

      // The code is single-use.
      const replay = await tokenRequest(as, tokenParams);
      assert.equal(replay.status, 400, JSON.stringify(replay.body));
      assert.equal(replay.body.error, 'invalid_grant');
    });
  } finally {
    await cb.close();
  }
});

test('browser: a wrong password shows one generic error, without user enumeration', { timeout: TEST_MS }, async () => {
  const cb = await startCallbackServer();
  try {
    const { url } = await newAuthorization(cb.redirectUri, 'Frontmcp E2E Browser Error Client');
    await withBrowser(async ({ page, documents }) => {
      await page.goto(url.href);
      await page.locator('input[name="password"]').waitFor();
      const cleanText = await page.locator('body').innerText();

      // attempt submits the form and returns the lines that appeared on the page.
      const attempt = async (username, password) => {
        const before = documents.length;
        await page.fill('input[name="username"]', username);
        await page.fill('input[name="password"]', password);
        await Promise.all([
          page.waitForResponse((r) => r.request().isNavigationRequest() && r.status() === 200),
          loginSubmit(page).click(),
        ]);
        await page.locator('input[name="password"]').waitFor();
        const post = documents.slice(before).find((r) => r.request().method() === 'POST');
        assert.ok(post, 'the login form was POSTed');
        assert.equal(post.status(), 303, 'failed login answered 303 (never 307)');
        await assertPageHeaders(lastDocument(documents), 'login page after a failure');
        assert.equal(await page.inputValue('input[name="password"]'), '', 'the password is not echoed back');
        const text = await page.locator('body').innerText();
        const known = new Set(cleanText.split('\n').map((l) => l.trim()));
        return text
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l && !known.has(l));
      };

      const wrongPassword = await attempt(USERNAME, 'not-the-password');
      assert.ok(wrongPassword.length > 0, 'an error message appeared');
      const errorText = wrongPassword.join(' ');
      const alert = page.locator('[role="alert"]');
      assert.equal(await alert.count(), 1, 'the error is announced (role=alert)');
      assert.equal((await alert.innerText()).trim(), errorText, 'the new text is the alert');
      assert.equal(
        await page.locator('input[name="password"]').getAttribute('aria-describedby'),
        await alert.getAttribute('id'),
        'the password field points at the error',
      );
      assert.ok(!errorText.includes(USERNAME), `the message does not echo the username: ${errorText}`);
      await page.screenshot({ path: artifactPath('login-error.png'), fullPage: true });

      const unknownUser = await attempt('mallory-does-not-exist', 'not-the-password');
      assert.deepEqual(unknownUser, wrongPassword, 'unknown user and wrong password look the same');
      assert.equal(cb.hits.length, 0, 'no authorization response after failed logins');
    });
  } finally {
    await cb.close();
  }
});
