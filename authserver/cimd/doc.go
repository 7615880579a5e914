// Package cimd resolves OAuth Client ID Metadata Documents
// (draft-ietf-oauth-client-id-metadata-document), which the MCP authorization
// specification (2025-11-25, "Client ID Metadata Documents") recommends for
// clients and servers that have no prior relationship: the client's client_id
// is an https URL, and the JSON client metadata (RFC 7591 §2) published at
// that URL tells the authorization server the client's name and redirect URIs.
//
// It exists because fetching a URL named by an unauthenticated party is a
// server-side request forgery risk and a cheap way to make a server do work.
// A [Fetcher] therefore:
//
//   - accepts only client identifier URLs of the draft's form (https, a path,
//     no fragment, no user information, no dot segments; see [ParseClientID]),
//     optionally only on configured domains;
//   - connects only to public addresses: the address is checked after DNS
//     resolution, just before connecting, so a name that resolves to a
//     loopback, private (RFC 1918, RFC 4193), link-local, shared (RFC 6598) or
//     otherwise special address is refused, whatever the name ([PublicAddr]);
//   - never follows a redirect, never uses a proxy from the environment, sends
//     no cookies, gives up after a timeout and reads at most a few kilobytes;
//   - accepts only a 200 response with a JSON content type whose client_id
//     equals the URL byte for byte ([Parse]);
//   - caches documents for the lifetime their Cache-Control or Expires header
//     gives, clamped to configured bounds, caches definite failures briefly,
//     and fetches a URL once for all concurrent requests that need it;
//   - runs at most a few fetches at once per host, per site (registrable
//     domain: all subdomains of one owner count as one; an IPv6 /64) and in
//     all, and waits only briefly for a free slot, so a slow host named in
//     many client_ids, or many hosts of one owner, cannot hold up every
//     other client;
//   - tells temporary failures (timeouts, unreachable hosts, 5xx, busy slots:
//     [ErrUnavailable]) from definite ones, never caches them, and answers
//     them with the last good copy of the document when it has one.
//
// Clients identified by URL are public clients: no secret can be shared
// through a public document, so the only token endpoint authentication method
// accepted is "none".
package cimd
