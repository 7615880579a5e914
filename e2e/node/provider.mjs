// An OAuthClientProvider for the official TypeScript MCP SDK that completes
// the browser part of the authorization code flow headlessly (it submits the
// server's login and consent forms with a cookie-keeping fetch), and a fetch
// wrapper that records the HTTP exchanges the SDK makes so tests can assert
// what the client did (discovery, registration, token grants, 401/403).

import { authorizeHeadless, CookieJar, randomState } from './helpers.mjs';

/**
 * HeadlessOAuthProvider implements the SDK's OAuthClientProvider interface
 * (@modelcontextprotocol/sdk/client/auth.js) for a public client
 * (token_endpoint_auth_method "none") that registers dynamically (RFC 7591).
 *
 * redirectToAuthorization(url) plays the user: it logs in, approves (or
 * denies) consent and records the authorization response found at the
 * redirect URI in `authorizations` (it never dials the redirect URI).
 */
export class HeadlessOAuthProvider {
  #client;
  #tokens;
  #verifier;

  /**
   * @param {object} opts
   * @param {string} opts.redirectUri  loopback redirect URI registered for the client
   * @param {string} [opts.clientName]
   * @param {string} [opts.username]
   * @param {string} [opts.password]
   * @param {'approve'|'deny'} [opts.decision]
   * @param {object} [opts.clientInformation]  pre-registered client (skips DCR)
   * @param {object} [opts.tokens]  tokens to start with
   */
  constructor(opts) {
    this.redirectUri = opts.redirectUri;
    this.clientName = opts.clientName ?? 'frontmcp e2e sdk client';
    this.username = opts.username;
    this.password = opts.password;
    this.decision = opts.decision ?? 'approve';
    this.#client = opts.clientInformation;
    this.#tokens = opts.tokens;
    this.jar = new CookieJar();
    /** Every client registration the SDK saved. */
    this.registrations = [];
    /** Every token set the SDK saved, oldest first. */
    this.savedTokens = [];
    /** Every state value handed to the SDK. */
    this.states = [];
    /** Every credentials invalidation the SDK asked for. */
    this.invalidations = [];
    /** One entry per redirectToAuthorization: { url, result } */
    this.authorizations = [];
  }

  get redirectUrl() {
    return this.redirectUri;
  }

  get clientMetadata() {
    return {
      client_name: this.clientName,
      redirect_uris: [this.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    const s = randomState();
    this.states.push(s);
    return s;
  }

  clientInformation() {
    return this.#client;
  }

  saveClientInformation(info) {
    this.#client = info;
    this.registrations.push(info);
  }

  tokens() {
    return this.#tokens;
  }

  saveTokens(tokens) {
    this.#tokens = tokens;
    this.savedTokens.push(tokens);
  }

  /** setTokens replaces the stored tokens from the test (not an SDK call). */
  setTokens(tokens) {
    this.#tokens = tokens;
  }

  saveCodeVerifier(verifier) {
    this.#verifier = verifier;
  }

  codeVerifier() {
    if (!this.#verifier) {
      throw new Error('no PKCE code verifier saved');
    }
    return this.#verifier;
  }

  invalidateCredentials(scope) {
    this.invalidations.push(scope);
    if (scope === 'all' || scope === 'client') this.#client = undefined;
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
    if (scope === 'all' || scope === 'verifier') this.#verifier = undefined;
  }

  async redirectToAuthorization(authorizationUrl) {
    const url = new URL(authorizationUrl);
    const entry = { url, result: undefined, error: undefined };
    this.authorizations.push(entry);
    try {
      entry.result = await authorizeHeadless(url, {
        redirectUri: this.redirectUri,
        username: this.username,
        password: this.password,
        decision: this.decision,
        jar: this.jar,
      });
    } catch (err) {
      entry.error = err;
      throw err;
    }
  }

  /** lastAuthorization returns the newest { url, result } entry. */
  get lastAuthorization() {
    return this.authorizations.at(-1);
  }
}

/**
 * recordingFetch returns a fetch that forwards to the global fetch and
 * records, for each exchange: method, URL, status, the WWW-Authenticate
 * header, and for form bodies the grant_type and scope parameters.
 */
export function recordingFetch() {
  const log = [];
  const fn = async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const entry = { method, url, path: url.pathname, status: undefined };
    if (init.body instanceof URLSearchParams) {
      entry.grantType = init.body.get('grant_type') ?? undefined;
      entry.scope = init.body.get('scope') ?? undefined;
    }
    log.push(entry);
    const res = await fetch(input, init);
    entry.status = res.status;
    entry.wwwAuthenticate = res.headers.get('www-authenticate') ?? undefined;
    return res;
  };
  return { fetch: fn, log };
}
