// conformance-auth-agent.mjs runs `conformance authorization` (the
// authorization server scenarios of npm @modelcontextprotocol/conformance)
// and plays the user's browser for it: the suite prints an authorization URL
// and waits for the redirect to http://127.0.0.1:PORT/callback; this script
// loads the URL with the headless user agent of the end-to-end tests
// (e2e/node/helpers.mjs: cookies, login form, consent form, redirects not
// followed), then delivers the authorization response to the suite's
// callback server by requesting the redirect URL, as a browser would.
//
// Usage (scripts/conformance-auth.sh sets all of it):
//   MCP_URL=... node conformance-auth-agent.mjs CLI --url ISSUER --client-id ID \
//     --resource URL --port PORT [-o DIR]
//
// The suite's output passes through to stdout. The exit status is the
// suite's, or 1 when the user agent could not complete the authorization
// (the suite is then stopped rather than left waiting for its 5-minute
// timeout).

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { authorizeHeadless, timedFetch } from '../e2e/node/helpers.mjs';

const [cli, ...args] = process.argv.slice(2);
if (!cli || !args.includes('authorization')) {
  console.error('usage: conformance-auth-agent.mjs CLI authorization --url ISSUER --client-id ID --resource URL --port PORT');
  process.exit(2);
}
const portArg = args.indexOf('--port');
const port = portArg >= 0 ? args[portArg + 1] : '3000';
const redirectUri = `http://127.0.0.1:${port}/callback`;

/** The line the suite prints right before the authorization URL. */
const MARKER = 'Access the following URL in your browser';

const suite = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
let agentError = null;
let expectURL = false;
let drives = 0;

createInterface({ input: suite.stdout }).on('line', (line) => {
  console.log(line);
  if (line.includes(MARKER)) {
    expectURL = true;
    return;
  }
  if (expectURL && /^https?:\/\//.test(line.trim())) {
    expectURL = false;
    drives++;
    drive(line.trim()).catch((err) => {
      agentError = err;
      console.error(`conformance-auth-agent: ${err.message}`);
      suite.kill('SIGTERM');
    });
  }
});

/**
 * drive completes one authorization request: login and consent through the
 * headless user agent, then the redirect to the suite's callback server.
 */
async function drive(authorizationUrl) {
  const res = await authorizeHeadless(authorizationUrl, { redirectUri });
  const steps = res.log.map((e) => `${e.method} ${new URL(e.url).pathname} -> ${e.status}${e.kind ? ` (${e.kind})` : ''}`);
  console.error(`conformance-auth-agent: ${steps.join(', ')}`);
  if (res.error) {
    // The suite reports the error response itself; deliver it.
    console.error(`conformance-auth-agent: authorization response carries error=${res.error}`);
  }
  const cb = await deliver(res.location.href);
  if (cb.status !== 200) {
    throw new Error(`the suite's callback server answered ${cb.status}`);
  }
}

/**
 * deliver requests the redirect URL from the suite's callback server. The
 * suite starts that server just before printing the URL; should it not be
 * listening yet, the request is retried for up to 5 s.
 */
async function deliver(url) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      const res = await timedFetch(url, { redirect: 'manual' });
      await res.text();
      return res;
    } catch (err) {
      if (err.cause?.code !== 'ECONNREFUSED' || Date.now() > deadline) {
        throw new Error(`delivering the authorization response to ${new URL(url).origin}: ${err.cause?.message ?? err.message}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const code = await new Promise((resolve) => {
  suite.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});
if (agentError) {
  process.exit(1);
}
if (drives === 0) {
  console.error('conformance-auth-agent: the suite never printed an authorization URL');
  process.exit(code === 0 ? 1 : code);
}
process.exit(code);
