package filestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/frontmcp-go/frontmcp/store"
)

var _ store.Revocations = (*Store)(nil)

// The revocation log lives in three buckets, created by the first write that
// needs them (a file without them has an empty log):
//
//	revocations         8-byte big-endian Seq → JSON revocationRecord; the
//	                    bucket's own sequence (NextSequence) is the log's head
//	revocations_ids     kind NUL id → 8-byte Seq of its live entry
//	revocations_expiry  expiryKey(ExpiresAt, Seq) → nil, oldest first
//
// Appends prune up to pruneBatch expired entries in the same transaction, so
// the log stays about as long as its live entries without a sweeper.
var (
	revBucket       = []byte("revocations")
	revIDsBucket    = []byte("revocations_ids")
	revExpiryBucket = []byte("revocations_expiry")
)

// pruneBatch bounds the expired entries one append removes.
const pruneBatch = 64

// revocationRecord is a stored log entry.
type revocationRecord struct {
	Kind      string    `json:"kind"`
	ID        string    `json:"id"`
	ExpiresAt time.Time `json:"expires_at"`
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

func revIDKey(kind, id string) []byte {
	return append(append([]byte(kind), 0), id...)
}

// appendRevocation adds an entry to the log in tx unless a live one for kind
// and id exists or exp has passed, and prunes expired entries.
func appendRevocation(tx *bolt.Tx, kind, id string, exp, now time.Time) error {
	if expired(exp, now) {
		return nil
	}
	log, err := tx.CreateBucketIfNotExists(revBucket)
	if err != nil {
		return err
	}
	ids, err := tx.CreateBucketIfNotExists(revIDsBucket)
	if err != nil {
		return err
	}
	idx, err := tx.CreateBucketIfNotExists(revExpiryBucket)
	if err != nil {
		return err
	}
	if err := pruneRevocations(log, ids, idx, now); err != nil {
		return err
	}
	idKey := revIDKey(kind, id)
	if old := ids.Get(idKey); old != nil {
		// Pruning removed every expired entry it reached; one it did not
		// reach yet is replaced below.
		rec, err := loadRevocation(log, old)
		if err != nil {
			return err
		}
		if rec != nil && !expired(rec.ExpiresAt, now) {
			return nil
		}
	}
	seq, err := log.NextSequence()
	if err != nil {
		return err
	}
	enc, err := json.Marshal(revocationRecord{Kind: kind, ID: id, ExpiresAt: exp})
	if err != nil {
		return err
	}
	sk := seqKey(seq)
	if err := log.Put(sk, enc); err != nil {
		return err
	}
	if err := ids.Put(idKey, sk); err != nil {
		return err
	}
	return idx.Put(expiryKey(exp, string(sk)), nil)
}

// pruneRevocations removes up to pruneBatch expired entries.
func pruneRevocations(log, ids, idx *bolt.Bucket, now time.Time) error {
	var due [][]byte
	c := idx.Cursor()
	for k, _ := c.First(); k != nil && len(due) < pruneBatch; k, _ = c.Next() {
		exp, _, ok := parseExpiryKey(k)
		if ok && !expired(exp, now) {
			break
		}
		due = append(due, bytes.Clone(k))
	}
	for _, k := range due {
		if err := idx.Delete(k); err != nil {
			return err
		}
		_, sk, ok := parseExpiryKey(k)
		if !ok {
			continue
		}
		rec, err := loadRevocation(log, sk)
		if err != nil {
			return err
		}
		if rec == nil {
			continue
		}
		idKey := revIDKey(rec.Kind, rec.ID)
		if bytes.Equal(ids.Get(idKey), sk) {
			if err := ids.Delete(idKey); err != nil {
				return err
			}
		}
		if err := log.Delete(sk); err != nil {
			return err
		}
	}
	return nil
}

// loadRevocation decodes the entry with key sk; nil when absent.
func loadRevocation(log *bolt.Bucket, sk []byte) (*revocationRecord, error) {
	raw := log.Get(sk)
	if raw == nil {
		return nil, nil
	}
	rec := new(revocationRecord)
	if err := json.Unmarshal(raw, rec); err != nil {
		return nil, fmt.Errorf("decode revocation %x: %w", sk, err)
	}
	return rec, nil
}

// logGrant appends a RevokedGrant entry for g in tx if g is revoked, living
// until the grant's end. Every write that can leave a grant revoked calls it
// in its own transaction, so the log and the grant are committed together.
func logGrant(tx *bolt.Tx, g *store.Grant, now time.Time) error {
	if g.RevokedAt.IsZero() {
		return nil
	}
	return appendRevocation(tx, store.RevokedGrant, g.ID, g.ExpiresAt, now)
}

// RevokeToken implements [store.Revocations].
func (s *Store) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error {
	if jti == "" {
		return fmt.Errorf("%w: revocation of a token with an empty jti", errInvalid)
	}
	if expired(expiresAt, s.clock.Now()) {
		return nil // nothing to remember: spare the write
	}
	return s.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		return appendRevocation(tx, store.RevokedToken, jti, expiresAt, now)
	})
}

// TokenRevoked implements [store.Revocations].
func (s *Store) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	var revoked bool
	err := s.view(ctx, func(tx *bolt.Tx, now time.Time) error {
		revoked = false
		log, ids := tx.Bucket(revBucket), tx.Bucket(revIDsBucket)
		if log == nil || ids == nil {
			return nil
		}
		sk := ids.Get(revIDKey(store.RevokedToken, jti))
		if sk == nil {
			return nil
		}
		rec, err := loadRevocation(log, sk)
		if err != nil {
			return err
		}
		revoked = rec != nil && !expired(rec.ExpiresAt, now)
		return nil
	})
	return revoked, err
}

// RevocationsSince implements [store.Revocations]: one read transaction, so
// the entries and the head are consistent.
func (s *Store) RevocationsSince(ctx context.Context, after int64) ([]store.Revocation, int64, error) {
	var (
		out  []store.Revocation
		head int64
	)
	err := s.view(ctx, func(tx *bolt.Tx, now time.Time) error {
		out, head = nil, 0
		log := tx.Bucket(revBucket)
		if log == nil {
			return nil
		}
		head = int64(log.Sequence())
		c := log.Cursor()
		for k, v := c.Seek(seqKey(uint64(max(after, 0)) + 1)); k != nil; k, v = c.Next() {
			if len(k) != 8 {
				return fmt.Errorf("revocation log key %x is not a sequence number", k)
			}
			var rec revocationRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode revocation %x: %w", k, err)
			}
			if expired(rec.ExpiresAt, now) {
				continue
			}
			out = append(out, store.Revocation{Kind: rec.Kind, ID: rec.ID, ExpiresAt: rec.ExpiresAt,
				Seq: int64(binary.BigEndian.Uint64(k))})
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, head, nil
}
