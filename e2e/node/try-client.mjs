// try-client.mjs connects the official TypeScript MCP SDK client to a frontmcp
// server the way an MCP application does — discovery, dynamic registration,
// authorization code with PKCE, login and consent (submitted headlessly with
// the given credentials), token — then lists the tools and calls `whoami`.
//
//   MCP_URL=http://127.0.0.1:3001/mcp E2E_USERNAME=demo E2E_PASSWORD=… \
//     "$(scripts/setup-node.sh)" e2e/node/try-client.mjs
//
// (`frontmcp serve` prints the demo password at startup.)

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { MCP_URL, USERNAME, PASSWORD } from './helpers.mjs';
import { HeadlessOAuthProvider } from './provider.mjs';

const provider = new HeadlessOAuthProvider({
  redirectUri: 'http://127.0.0.1:53682/callback', // never dialled: the provider stops at the redirect
  clientName: 'frontmcp try-client',
  username: USERNAME,
  password: PASSWORD,
});
const transport = () => new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider });

const first = new Client({ name: 'frontmcp-try-client', version: '1.0.0' });
const t1 = transport();
try {
  await first.connect(t1);
} catch (err) {
  if (!(err instanceof UnauthorizedError)) throw err;
  const code = provider.lastAuthorization?.result?.code;
  if (!code) throw new Error(`authorization failed: ${JSON.stringify(provider.lastAuthorization?.result)}`);
  console.log(`authorized as ${USERNAME}; redeeming the code`);
  await t1.finishAuth(code);
}
const client = new Client({ name: 'frontmcp-try-client', version: '1.0.0' });
await client.connect(transport());
const { tools } = await client.listTools();
console.log('tools:', tools.map((t) => t.name).join(', ') || '(none)');
if (tools.some((t) => t.name === 'whoami')) {
  const res = await client.callTool({ name: 'whoami', arguments: {} });
  console.log('whoami:', JSON.stringify(res.structuredContent ?? res.content));
}
await client.close();
