package filestore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/frontmcp-go/frontmcp/store"
)

// prevBucket holds, for each grant with rotated-out refresh hashes, a bucket
// named by the grant id with two keys per hash: 'h' + hash → its number
// (8 bytes, big-endian), and 's' + number → hash, so that a reuse check is
// one lookup and forgetting the oldest hash one more. Numbers count up from
// 1 per grant; the grant record keeps the last one given (grantRecord.PrevSeq),
// so the oldest remembered is PrevSeq - store.MaxPreviousHashes + 1. A
// rotation thus writes a few keys, not the whole list; the bucket goes with
// the grant record (kind.drop).
var prevBucket = []byte("grants_prev")

// grantRecord is a stored grant. PreviousHashes stays empty: the hashes are
// in the grant's bucket in prevBucket.
type grantRecord struct {
	store.Grant
	// PrevSeq is the number of the newest hash in the grant's bucket (0:
	// none).
	PrevSeq uint64 `json:"prev_seq,omitempty"`
}

func prevHashKey(h string) []byte { return append([]byte{'h'}, h...) }

func prevSeqKey(n uint64) []byte {
	k := make([]byte, 9)
	k[0] = 's'
	binary.BigEndian.PutUint64(k[1:], n)
	return k
}

// previousOf returns the bucket of grant id's rotated-out hashes; nil when
// it has none.
func previousOf(tx *bolt.Tx, id string) *bolt.Bucket {
	return tx.Bucket(prevBucket).Bucket([]byte(id))
}

// isPrevious reports whether h is a remembered rotated-out hash of the
// grant whose bucket is b (nil: none). The lookup compares hashes of random
// secrets, which tells nothing about a secret (see store.Grant.Rotate).
func isPrevious(b *bolt.Bucket, h string) bool {
	return b != nil && b.Get(prevHashKey(h)) != nil
}

// addPrevious remembers h as rotated out of rec's grant, forgetting the
// oldest hash beyond store.MaxPreviousHashes. A hash already remembered
// keeps its place. The caller writes rec back.
func addPrevious(tx *bolt.Tx, rec *grantRecord, h string) error {
	b, err := tx.Bucket(prevBucket).CreateBucketIfNotExists([]byte(rec.ID))
	if err != nil {
		return err
	}
	hk := prevHashKey(h)
	if b.Get(hk) != nil {
		return nil
	}
	rec.PrevSeq++
	seq := rec.PrevSeq
	if err := b.Put(hk, prevSeqKey(seq)[1:]); err != nil {
		return err
	}
	if err := b.Put(prevSeqKey(seq), []byte(h)); err != nil {
		return err
	}
	if seq <= store.MaxPreviousHashes {
		return nil
	}
	sk := prevSeqKey(seq - store.MaxPreviousHashes)
	old := bytes.Clone(b.Get(sk))
	if old == nil {
		return nil
	}
	if err := b.Delete(sk); err != nil {
		return err
	}
	return b.Delete(append([]byte{'h'}, old...))
}

// listPrevious returns the remembered hashes in b, oldest first.
func listPrevious(b *bolt.Bucket) []string {
	out := []string{}
	if b == nil {
		return out
	}
	c := b.Cursor()
	for k, v := c.Seek([]byte{'s'}); k != nil && k[0] == 's'; k, v = c.Next() {
		out = append(out, string(v))
	}
	return out
}

// dropPrevious forgets every rotated-out hash of grant id.
func dropPrevious(tx *bolt.Tx, id []byte) error {
	err := tx.Bucket(prevBucket).DeleteBucket(id)
	if errors.Is(err, bolt.ErrBucketNotFound) {
		return nil
	}
	return err
}

// migrateV1 moves the previous hashes of every grant of a schema version 1
// file (a list inside the grant record) into prevBucket, and marks the file
// version 2.
func migrateV1(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists(prevBucket); err != nil {
		return err
	}
	grants := tx.Bucket(grantKind.data)
	if grants != nil {
		type rewrite struct {
			id  []byte
			enc []byte
		}
		var rewrites []rewrite
		err := grants.ForEach(func(k, v []byte) error {
			var rec grantRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode grant %q: %w", k, err)
			}
			if len(rec.PreviousHashes) == 0 {
				return nil
			}
			for _, h := range rec.PreviousHashes {
				if err := addPrevious(tx, &rec, h); err != nil {
					return err
				}
			}
			rec.PreviousHashes = nil
			enc, err := json.Marshal(&rec)
			if err != nil {
				return err
			}
			rewrites = append(rewrites, rewrite{bytes.Clone(k), enc})
			return nil
		})
		if err != nil {
			return err
		}
		// bbolt forbids changing a bucket while iterating over it.
		for _, r := range rewrites {
			if err := grants.Put(r.id, r.enc); err != nil {
				return err
			}
		}
	}
	return tx.Bucket(metaBucket).Put(versionKey, []byte(schemaVersion))
}
