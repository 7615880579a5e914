// Package cli is the frontmcp command line: `serve`, `config check` and
// `version`. The frontmcp binary is Main; a program that embeds the framework
// and wants the same flags calls Serve with a Setup hook that registers its tools.
//
// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error
// (nothing was started).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Version is the frontmcp version, set at build time with
// -ldflags "-X github.com/frontmcp-go/frontmcp/cli.Version=v1.2.3".
// When unset, the module version from the build info is used.
var Version = ""

// Options customise Main and Serve. A nil *Options is valid.
type Options struct {
	// Setup runs after the server is built and before it serves: register
	// tools, resources and prompts on srv.MCP() here.
	Setup func(srv *frontmcp.Server) error
	// ServerOptions are passed to frontmcp.Options.ServerOptions.
	ServerOptions *mcp.ServerOptions
	// Stdout and Stderr default to os.Stdout and os.Stderr.
	Stdout, Stderr io.Writer
	// LookupEnv defaults to os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Defaults changes the configuration defaults before the file and the
	// environment apply (see config.LoadOptions.Defaults).
	Defaults func(*config.Config)
}

func (o *Options) withDefaults() *Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	if c.LookupEnv == nil {
		c.LookupEnv = os.LookupEnv
	}
	return &c
}

const usage = `frontmcp — an MCP server with built-in OAuth 2.1

Usage:
  frontmcp serve [--config FILE] [--host HOST] [--port N]
  frontmcp config check [FILE]
  frontmcp keys generate [--alg ES256|EdDSA|RS256|PS256] [--kid KID]
  frontmcp keys list|rotate [--config FILE]
  frontmcp vault generate-key
  frontmcp clients list|add|remove [--config FILE] …
  frontmcp grants list|revoke [--config FILE] …
  frontmcp version

serve         run the server (with no --config: the built-in defaults)
config check  validate a configuration file and print the effective
              configuration with secrets redacted (exit 2 when invalid)
keys          generate a signing key; list or rotate the keys in the store
vault         generate a key that encrypts stored secrets (VAULT_KEY)
clients       list, register or remove OAuth clients in the shared store
grants        list grants, or revoke them (a user's, a client's, or one)
version       print the version
`

// Main runs the frontmcp command line with args (without the program name)
// and returns the exit code.
func Main(ctx context.Context, args []string, opts *Options) int {
	o := opts.withDefaults()
	if len(args) == 0 {
		fmt.Fprint(o.Stderr, usage)
		return ExitUsage
	}
	switch args[0] {
	case "serve":
		return Serve(ctx, args[1:], o)
	case "config":
		if len(args) < 2 || args[1] != "check" {
			fmt.Fprint(o.Stderr, "usage: frontmcp config check [FILE]\n")
			return ExitUsage
		}
		return configCheck(args[2:], o)
	case "keys":
		return keysCmd(ctx, args[1:], o)
	case "vault":
		return vaultCmd(args[1:], o)
	case "clients":
		return clientsCmd(ctx, args[1:], o)
	case "grants":
		return grantsCmd(ctx, args[1:], o)
	case "version", "--version", "-version":
		fmt.Fprintln(o.Stdout, "frontmcp", version())
		return ExitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprint(o.Stdout, usage)
		return ExitOK
	}
	fmt.Fprintf(o.Stderr, "frontmcp: unknown command %q\n\n%s", args[0], usage)
	return ExitUsage
}

// Serve parses the serve flags in args, loads the configuration, builds the
// server, runs opts.Setup and serves until ctx is cancelled.
func Serve(ctx context.Context, args []string, opts *Options) int {
	o := opts.withDefaults()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(o.Stderr)
	configPath := fs.String("config", "", "configuration file (YAML); empty: built-in defaults")
	host := fs.String("host", "", "listen host (overrides http.host)")
	port := fs.Int("port", -1, "listen port (overrides http.port)")
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(o.Stderr, "serve: unexpected argument %q\n", fs.Arg(0))
		return ExitUsage
	}
	cfg, err := config.Load(*configPath, &config.LoadOptions{LookupEnv: o.LookupEnv, Defaults: o.Defaults})
	if err == nil && (*host != "" || *port >= 0) {
		if *host != "" {
			cfg.HTTP.Host = *host
		}
		if *port >= 0 {
			cfg.HTTP.Port = *port
		}
		err = cfg.Validate()
	}
	if err != nil {
		printConfigError(o.Stderr, *configPath, err)
		return ExitUsage
	}
	// Listen before building the server so that port 0 resolves to the real
	// port in the public URL and the logs.
	ln, err := net.Listen("tcp", cfg.ListenAddr())
	if err != nil {
		fmt.Fprintf(o.Stderr, "frontmcp: listen on %s: %v\n", cfg.ListenAddr(), err)
		return ExitFailure
	}
	if cfg.HTTP.Port == 0 {
		cfg.HTTP.Port = ln.Addr().(*net.TCPAddr).Port
	}
	log, err := frontmcp.NewLogger(o.Stderr, cfg.Logging)
	if err != nil {
		ln.Close()
		fmt.Fprintln(o.Stderr, "frontmcp:", err)
		return ExitUsage
	}
	srv, err := frontmcp.New(&frontmcp.Options{Config: cfg, Logger: log, ServerOptions: o.ServerOptions, Stderr: o.Stderr})
	if err != nil {
		ln.Close()
		var cerrs config.Errors
		if errors.As(err, &cerrs) {
			printConfigError(o.Stderr, *configPath, err)
			return ExitUsage
		}
		fmt.Fprintln(o.Stderr, "frontmcp:", err)
		return ExitFailure
	}
	if o.Setup != nil {
		if err := o.Setup(srv); err != nil {
			ln.Close()
			srv.Close()
			fmt.Fprintln(o.Stderr, "frontmcp: setup:", err)
			return ExitFailure
		}
	}
	if err := srv.Serve(ctx, ln); err != nil {
		fmt.Fprintln(o.Stderr, "frontmcp:", err)
		return ExitFailure
	}
	return ExitOK
}

func configCheck(args []string, o *Options) int {
	if len(args) > 1 {
		fmt.Fprint(o.Stderr, "usage: frontmcp config check [FILE]\n")
		return ExitUsage
	}
	path := ""
	if len(args) == 1 {
		path = args[0]
	}
	cfg, err := config.Load(path, &config.LoadOptions{LookupEnv: o.LookupEnv, Defaults: o.Defaults})
	if err != nil {
		printConfigError(o.Stderr, path, err)
		return ExitUsage
	}
	out, err := cfg.Redacted()
	if err != nil {
		fmt.Fprintln(o.Stderr, "frontmcp:", err)
		return ExitFailure
	}
	name := path
	if name == "" {
		name = "built-in defaults"
	}
	fmt.Fprintf(o.Stdout, "# %s: valid (environment %s)\n", name, cfg.Environment)
	if src := cfg.Sources(); len(src) > 0 {
		fmt.Fprintln(o.Stdout, "# values from the environment:")
		for _, k := range slices.Sorted(maps.Keys(src)) {
			fmt.Fprintf(o.Stdout, "#   %s <- %s\n", k, src[k])
		}
	}
	if cfg.UsesRemote() {
		fmt.Fprintf(o.Stdout, "# remote mode: register this redirect URI at the identity provider: %s\n", cfg.UpstreamCallbackURL())
	}
	o.Stdout.Write(out)
	return ExitOK
}

func printConfigError(w io.Writer, path string, err error) {
	name := path
	if name == "" {
		name = "configuration"
	}
	var cerrs config.Errors
	if errors.As(err, &cerrs) {
		fmt.Fprintf(w, "frontmcp: %s is invalid:\n", name)
		for _, e := range cerrs {
			fmt.Fprintf(w, "  %s\n", e)
		}
		return
	}
	fmt.Fprintf(w, "frontmcp: %s: %s\n", name, strings.TrimSpace(err.Error()))
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
