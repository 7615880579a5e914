package jwks

import "sync/atomic"

// Stats are the counters of a [Set] (or, from [TotalStats], of every Set in
// the process), for tests now and metrics later.
type Stats struct {
	// Fetches counts successful key set fetches.
	Fetches uint64
	// Failures counts failed fetches (discovery or key set); each is logged.
	Failures uint64
	// UnknownKeyFetches counts fetches started because a token named a key
	// id the cached set lacks.
	UnknownKeyFetches uint64
	// RateLimited counts refetches for unknown key ids refused by the rate
	// limit or the backoff after failures.
	RateLimited uint64
	// StaleServed counts requests given keys past their lifetime because
	// fetching failed or was backing off.
	StaleServed uint64
	// Unavailable counts requests refused for want of usable keys (fail
	// closed).
	Unavailable uint64
	// KeysSkipped counts keys left out of fetched sets (unsupported,
	// private, symmetric, too weak or ambiguous).
	KeysSkipped uint64
}

type counter int

const (
	cFetches counter = iota
	cFailures
	cUnknownKeyFetches
	cRateLimited
	cStaleServed
	cUnavailable
	cKeysSkipped
	nCounters
)

type counters [nCounters]atomic.Uint64

// total counts for every Set in the process.
var total counters

func (c *counters) snapshot() Stats {
	return Stats{
		Fetches:           c[cFetches].Load(),
		Failures:          c[cFailures].Load(),
		UnknownKeyFetches: c[cUnknownKeyFetches].Load(),
		RateLimited:       c[cRateLimited].Load(),
		StaleServed:       c[cStaleServed].Load(),
		Unavailable:       c[cUnavailable].Load(),
		KeysSkipped:       c[cKeysSkipped].Load(),
	}
}

// count adds one to counter c of s and of the process total.
func (s *Set) count(c counter) {
	s.stats[c].Add(1)
	total[c].Add(1)
}

// TotalStats returns the counters summed over every Set of the process.
func TotalStats() Stats { return total.snapshot() }
