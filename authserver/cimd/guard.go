package cimd

import (
	"fmt"
	"net/netip"
	"syscall"
)

// specialPrefixes are address ranges that are not public unicast Internet
// addresses (IANA IPv4 and IPv6 Special-Purpose Address Registries, RFC 6890)
// beyond those netip.Addr's methods recognise. Some embed an IPv4 address
// that may be private (NAT64, 6to4, Teredo); they are refused whole.
var specialPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network" (RFC 791)
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space, carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments (RFC 6890)
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation (RFC 5737)
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking (RFC 2544)
	netip.MustParsePrefix("198.51.100.0/24"), // documentation (RFC 5737)
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation (RFC 5737)
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and 255.255.255.255 broadcast (RFC 1112)
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated, RFC 4291 §2.5.5.1)
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64 well-known prefix (RFC 6052)
	netip.MustParsePrefix("64:ff9b:1::/48"),  // NAT64 local use (RFC 8215)
	netip.MustParsePrefix("100::/64"),        // discard-only (RFC 6666)
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments, Teredo (RFC 2928, RFC 4380)
	netip.MustParsePrefix("2001:db8::/32"),   // documentation (RFC 3849)
	netip.MustParsePrefix("2002::/16"),       // 6to4 (RFC 3056)
	netip.MustParsePrefix("3fff::/20"),       // documentation (RFC 9637)
	netip.MustParsePrefix("5f00::/16"),       // segment routing SIDs (RFC 9602)
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated, RFC 3879)
}

// PublicAddr reports whether a is a public unicast address that a server may
// fetch a client-supplied URL from. It refuses the unspecified, loopback,
// private (RFC 1918, and unique local fc00::/7 of RFC 4193), link-local,
// multicast and other special-purpose addresses of the IANA registries,
// including the IPv4-mapped IPv6 form of any refused IPv4 address.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.Zone() != "" {
		return false
	}
	if a.IsUnspecified() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() ||
		a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsMulticast() {
		return false
	}
	for _, p := range specialPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// forbiddenAddrError is returned by the dialer's Control hook for an address
// the fetcher does not connect to.
type forbiddenAddrError struct{ addr netip.Addr }

func (e *forbiddenAddrError) Error() string {
	return fmt.Sprintf("connecting to %s is not allowed", e.addr)
}

func (e *forbiddenAddrError) Unwrap() error { return ErrForbiddenAddress }

// allowedAddr applies the fetcher's address policy: public addresses, plus
// loopback when AllowLoopbackHTTP is set, plus what Options.AllowAddr admits.
func (f *Fetcher) allowedAddr(a netip.Addr) bool {
	a = a.Unmap()
	switch {
	case PublicAddr(a):
		return true
	case f.opts.AllowLoopbackHTTP && a.IsLoopback():
		return true
	case f.opts.AllowAddr != nil && f.opts.AllowAddr(a):
		return true
	}
	return false
}

// control is the net.Dialer Control hook: it runs after DNS resolution, for
// each address the dialer is about to connect to, so a name cannot smuggle a
// private address past the check (nor can a DNS answer that changes between
// a check and the connection: the check is on the connection itself).
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("unexpected dial address %q: %w", address, ErrForbiddenAddress)
	}
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("unexpected network %q: %w", network, ErrForbiddenAddress)
	}
	if !f.allowedAddr(ap.Addr()) {
		return &forbiddenAddrError{ap.Addr()}
	}
	return nil
}
