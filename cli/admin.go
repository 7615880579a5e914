package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/store"
)

// The operator commands (clients, grants) work on the store the server
// uses, named by the same configuration file and environment as serve. The
// file and Redis stores are shared with running servers: what a command
// changes, every instance sees on its next store access. The memory store
// lives inside one server process, so the commands refuse it.

// adminEnv is what an operator command runs with: the loaded configuration
// and its open store.
type adminEnv struct {
	cfg   *config.Config
	st    store.Store
	where string // the store, for messages: "file store /var/lib/…", "redis store host:port"
}

// openAdmin loads the configuration at path the way serve does and opens its
// store. It reports problems itself and returns the exit code to use when
// env is nil: configuration errors and the memory store are ExitUsage, an
// unreachable store ExitFailure.
func openAdmin(cmd, path string, o *Options) (*adminEnv, int) {
	cfg, err := config.Load(path, &config.LoadOptions{LookupEnv: o.LookupEnv, Defaults: o.Defaults})
	if err != nil {
		printConfigError(o.Stderr, path, err)
		return nil, ExitUsage
	}
	ts := cfg.Auth.TokenStorage
	if ts.Type == config.StorageMemory {
		name := path
		if name == "" {
			name = "the built-in defaults"
		}
		fmt.Fprintf(o.Stderr, "frontmcp %s: %s use the memory store (auth.tokenStorage.type: memory), which lives inside one server process; "+
			"operator commands need a store shared with the server: file or redis\n", cmd, name)
		return nil, ExitUsage
	}
	where := describeStore(ts)
	st, err := frontmcp.OpenStore(ts)
	if err != nil {
		fmt.Fprintf(o.Stderr, "frontmcp %s: cannot open the %s: %v\n", cmd, where, err)
		return nil, ExitFailure
	}
	return &adminEnv{cfg: cfg, st: st, where: where}, ExitOK
}

// storeFailed reports a failed store operation, naming the store, and
// returns ExitFailure.
func (e *adminEnv) storeFailed(w io.Writer, cmd, op string, err error) int {
	fmt.Fprintf(w, "frontmcp %s: %s on the %s: %v\n", cmd, op, e.where, err)
	return ExitFailure
}

// describeStore names a store for messages: its kind and where it is, never
// a password.
func describeStore(ts config.TokenStorage) string {
	switch ts.Type {
	case config.StorageFile:
		return "file store " + ts.File.Path
	case config.StorageRedis:
		r := ts.Redis
		switch {
		case r.URL != "":
			if u, err := url.Parse(r.URL); err == nil && u.Host != "" {
				return "redis store " + u.Host
			}
			return "redis store (auth.tokenStorage.config.url)"
		case r.MasterName != "":
			return fmt.Sprintf("redis store (sentinel master %s via %s)", r.MasterName, strings.Join(r.SentinelAddrs, ","))
		case len(r.ClusterAddrs) > 0:
			return "redis store (cluster " + strings.Join(r.ClusterAddrs, ",") + ")"
		}
		return "redis store " + net.JoinHostPort(r.Host, strconv.Itoa(r.Port))
	}
	return string(ts.Type) + " store"
}

// parseArgs parses the flags in args with fs, also those after positional
// arguments (frontmcp grants revoke ID --config FILE), and returns the
// positional arguments. Everything after "--" is positional, so an ID that
// starts with '-' (generated IDs are base64url) can be given.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // fs.Parse reports it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	return pos, nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, " ") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// writeJSONOut writes v as indented JSON.
func writeJSONOut(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// isNotFound reports whether err is the store's not-found error.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// adminFunc runs one operator subcommand with the arguments after its name.
type adminFunc func(ctx context.Context, args []string, o *Options) int

// subcommand runs the subcommand of group named by args[0]; help prints
// usage to stdout, anything else unknown is a usage error.
func subcommand(ctx context.Context, group, usage string, args []string, o *Options, cmds map[string]adminFunc) int {
	if len(args) == 0 {
		fmt.Fprint(o.Stderr, usage)
		return ExitUsage
	}
	if run, ok := cmds[args[0]]; ok {
		return run(ctx, args[1:], o)
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(o.Stdout, usage)
		return ExitOK
	}
	fmt.Fprintf(o.Stderr, "frontmcp %s: unknown command %q\n\n%s", group, args[0], usage)
	return ExitUsage
}
