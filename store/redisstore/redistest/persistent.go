package redistest

// PersistentArgs make a server acknowledge a write only once it is on disk:
// an append-only file, fsynced before every reply. A server started with
// them and killed with SIGKILL comes back (see [Server.Restart]) holding
// every write it acknowledged.
var PersistentArgs = []string{"--appendonly", "yes", "--appendfsync", "always"}

// StartPersistent starts a single server on a free port with
// [PersistentArgs] in a data directory of its own, for tests that crash
// Redis ([Server.Kill]) and bring it back on the same port
// ([Server.Restart]) to check what survived. opts may add arguments; its
// Args come after PersistentArgs, so they can override them.
func StartPersistent(opts *Options) (*Server, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.Args = append(append([]string(nil), PersistentArgs...), o.Args...)
	return Start(&o)
}
