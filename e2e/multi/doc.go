// Package multi holds end-to-end tests of several `frontmcp serve` processes
// sharing one Redis, the deployment docs/deployment.md describes: the binary
// is built once, each server is a child process on its own loopback port
// with a YAML configuration in a temporary directory, and each test runs its
// own redis-server (store/redisstore/redistest) so that it can kill it with
// SIGKILL and start it again on the same port.
//
// The tests check that any instance continues what another began (codes,
// refresh tokens, MCP sessions, revocation), that with appendonly yes and
// appendfsync always a Redis crash loses no issued refresh token and revives
// no rotated one, that a refresh whose reply was lost can be retried within
// the reuse grace, and that a Redis outage is a 503 — never a 500 and never
// "token reused" — from which the same processes recover on their own.
//
// They live apart from package e2e because they build a binary and start
// processes, which takes longer. The package contains no code besides its
// tests.
package multi
