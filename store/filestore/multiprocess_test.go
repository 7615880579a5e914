package filestore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/frontmcp-go/frontmcp/store"
)

// childEnv, when set, makes the test binary a child process of
// TestMultiProcess; it holds the child's job as JSON.
const childEnv = "FILESTORE_TEST_CHILD"

func TestMain(m *testing.M) {
	if job := os.Getenv(childEnv); job != "" {
		if err := runChild(job, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childJob is what one child process does to the shared store file.
type childJob struct {
	Path     string   `json:"path"`
	ID       int      `json:"id"`
	Clients  int      `json:"clients"`  // clients to create, with IDs of this child
	Codes    []string `json:"codes"`    // shared codes to try to consume
	Grants   []string `json:"grants"`   // shared grants to try to rotate from "r0"
	Attempts int      `json:"attempts"` // tries per shared code and grant
	// Readers, when set, makes the child only read, from that many
	// goroutines, from "ready" until a line on stdin (runReader).
	Readers int `json:"readers"`
}

// childResult is what a child reports on stdout.
type childResult struct {
	Consumed []string          `json:"consumed"` // codes this child consumed
	Rotated  map[string]string `json:"rotated"`  // grant ID → next hash this child set
	Waits    int64             `json:"waits"`    // operations that found the file locked
	Reads    int64             `json:"reads"`    // reads done by runReader
}

func clientID(child, i int) string { return "client-" + strconv.Itoa(child) + "-" + strconv.Itoa(i) }

// runChild opens the store, says "ready", waits for a line on in, runs the
// job on 4 goroutines in an order of its own and writes its result to out.
func runChild(jobJSON string, in io.Reader, out io.Writer) error {
	var job childJob
	if err := json.Unmarshal([]byte(jobJSON), &job); err != nil {
		return err
	}
	s, err := Open(job.Path, &Options{SweepInterval: -1})
	if err != nil {
		return err
	}
	defer s.Close()
	if job.Readers > 0 {
		return runReader(s, job, in, out)
	}
	var waits atomic.Int64
	s.contended = func() { waits.Add(1) }
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)

	var (
		mu  sync.Mutex
		res = childResult{Consumed: []string{}, Rotated: map[string]string{}}
	)
	var tasks []func() error
	for i := range job.Clients {
		tasks = append(tasks, func() error {
			return s.CreateClient(ctx, &store.Client{ID: clientID(job.ID, i), CreatedAt: exp})
		})
	}
	for a := range job.Attempts {
		for _, code := range job.Codes {
			tasks = append(tasks, func() error {
				c, err := s.ConsumeCode(ctx, code)
				if errors.Is(err, store.ErrReused) {
					return nil
				}
				if err != nil {
					return fmt.Errorf("ConsumeCode %s: %w", code, err)
				}
				if c.GrantID != "grant-of-"+code {
					return fmt.Errorf("ConsumeCode %s returned the code of %q", code, c.GrantID)
				}
				mu.Lock()
				defer mu.Unlock()
				res.Consumed = append(res.Consumed, code)
				return nil
			})
		}
		for _, g := range job.Grants {
			next := "next-" + strconv.Itoa(job.ID) + "-" + strconv.Itoa(a)
			tasks = append(tasks, func() error {
				_, err := s.RotateRefresh(ctx, g, "r0", next, exp)
				if errors.Is(err, store.ErrReused) {
					return nil
				}
				if err != nil {
					return fmt.Errorf("RotateRefresh %s: %w", g, err)
				}
				mu.Lock()
				defer mu.Unlock()
				if prev, ok := res.Rotated[g]; ok {
					return fmt.Errorf("RotateRefresh %s from r0 succeeded twice (%s, %s)", g, prev, next)
				}
				res.Rotated[g] = next
				return nil
			})
			tasks = append(tasks, func() error {
				_, err := s.GetGrant(ctx, g)
				return err
			})
		}
		tasks = append(tasks, func() error {
			_, err := s.ListClients(ctx)
			return err
		})
	}
	rng := rand.New(rand.NewPCG(uint64(job.ID), 1))
	rng.Shuffle(len(tasks), func(i, j int) { tasks[i], tasks[j] = tasks[j], tasks[i] })

	if _, err := fmt.Fprintln(out, "ready"); err != nil {
		return err
	}
	if _, err := bufio.NewReader(in).ReadString('\n'); err != nil {
		return fmt.Errorf("waiting for the start: %w", err)
	}
	queue := make(chan func() error)
	errs := make(chan error, len(tasks))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for task := range queue {
				errs <- task()
			}
		})
	}
	for _, task := range tasks {
		queue <- task
	}
	close(queue)
	wg.Wait()
	close(errs)
	if err := errors.Join(slices.Collect(func(yield func(error) bool) {
		for err := range errs {
			if err != nil && !yield(err) {
				return
			}
		}
	})...); err != nil {
		return err
	}
	res.Waits = waits.Load()
	return json.NewEncoder(out).Encode(res)
}

// runReader reads one grant from job.Readers goroutines without pause, so
// that this process nearly always holds the shared file lock. It says
// "ready" once the readers are busy and stops at a line on in.
func runReader(s *Store, job childJob, in io.Reader, out io.Writer) error {
	ctx := context.Background()
	var (
		reads   atomic.Int64
		stop    = make(chan struct{})
		busy    = make(chan struct{})
		busyOne sync.Once
		wg      sync.WaitGroup
	)
	errs := make(chan error, job.Readers)
	for range job.Readers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.GetGrant(ctx, job.Grants[0]); err != nil {
					errs <- err
					return
				}
				if reads.Add(1) >= int64(10*job.Readers) {
					busyOne.Do(func() { close(busy) })
				}
			}
		})
	}
	<-busy
	if _, err := fmt.Fprintln(out, "ready"); err != nil {
		return err
	}
	_, err := bufio.NewReader(in).ReadString('\n')
	close(stop)
	wg.Wait()
	close(errs)
	if err != nil {
		return fmt.Errorf("waiting for the stop: %w", err)
	}
	if err := <-errs; err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(childResult{Reads: reads.Load()})
}

// child is a running child process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr bytes.Buffer
}

// startChild starts the test binary as a child running job and waits until
// it has opened the store.
func startChild(t *testing.T, job childJob) *child {
	t.Helper()
	enc, err := json.Marshal(job)
	must(t, err)
	c := &child{cmd: exec.CommandContext(t.Context(), os.Args[0])}
	c.cmd.Env = append(os.Environ(), childEnv+"="+string(enc))
	c.cmd.Stderr = &c.stderr
	c.stdin, err = c.cmd.StdinPipe()
	must(t, err)
	stdout, err := c.cmd.StdoutPipe()
	must(t, err)
	c.stdout = bufio.NewReader(stdout)
	must(t, c.cmd.Start())
	t.Cleanup(func() { c.cmd.Wait() })
	if line, err := c.stdout.ReadString('\n'); line != "ready\n" {
		c.cmd.Wait()
		t.Fatalf("child %d did not start: %q, %v; stderr:\n%s", job.ID, line, err, c.stderr.String())
	}
	return c
}

// TestMultiProcess has two processes hammer one store file at once, while
// this process keeps its own Store on the file open and reads it: every
// client each child created exists, each shared code was consumed exactly
// once, and each shared grant rotated exactly once, across processes.
func TestMultiProcess(t *testing.T) {
	const (
		children = 2
		clients  = 200
		shared   = 20
		attempts = 2
	)
	path := filepath.Join(t.TempDir(), "store.db")
	s := openTest(t, path, &Options{SweepInterval: -1})
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	var codes, grants []string
	for i := range shared {
		code, grant := "code-"+strconv.Itoa(i), "grant-"+strconv.Itoa(i)
		codes, grants = append(codes, code), append(grants, grant)
		must(t, s.SaveCode(ctx, &store.AuthCode{Hash: code, GrantID: "grant-of-" + code, ExpiresAt: exp}))
		must(t, s.CreateGrant(ctx, &store.Grant{ID: grant, RefreshHash: "r0", ExpiresAt: exp}))
	}

	var procs []*child
	for id := range children {
		procs = append(procs, startChild(t, childJob{
			Path: path, ID: id, Clients: clients, Codes: codes, Grants: grants, Attempts: attempts,
		}))
	}
	// This process reads throughout, as a server does beside an operator
	// command.
	stopReading := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stopReading:
				readErr <- nil
				return
			default:
			}
			if _, err := s.ListGrants(ctx, store.GrantFilter{}); err != nil {
				readErr <- err
				return
			}
		}
	}()
	for _, p := range procs {
		_, err := io.WriteString(p.stdin, "go\n")
		must(t, err)
	}
	results := make([]childResult, children)
	for id, p := range procs {
		decErr := json.NewDecoder(p.stdout).Decode(&results[id])
		if err := p.cmd.Wait(); err != nil || decErr != nil {
			t.Fatalf("child %d: %v, result %v; stderr:\n%s", id, err, decErr, p.stderr.String())
		}
	}
	close(stopReading)
	if err := <-readErr; err != nil {
		t.Fatalf("reading beside the children: %v", err)
	}

	var waits int64
	consumed := make(map[string]int)
	rotated := make(map[string][]string)
	for _, r := range results {
		waits += r.Waits
		for _, code := range r.Consumed {
			consumed[code]++
		}
		for g, next := range r.Rotated {
			rotated[g] = append(rotated[g], next)
		}
	}
	t.Logf("%d child operations waited for the other process", waits)
	wantConsumed := make(map[string]int)
	for _, code := range codes {
		wantConsumed[code] = 1
		if _, err := s.ConsumeCode(ctx, code); !errors.Is(err, store.ErrReused) {
			t.Errorf("ConsumeCode %s after the children = %v, want ErrReused", code, err)
		}
	}
	if diff := cmp.Diff(wantConsumed, consumed); diff != "" {
		t.Errorf("successful ConsumeCode per code across processes (-want +got):\n%s", diff)
	}
	for _, g := range grants {
		if len(rotated[g]) != 1 {
			t.Errorf("grant %s rotated %d times from r0 across processes (%v), want once", g, len(rotated[g]), rotated[g])
			continue
		}
		got, err := s.GetGrant(ctx, g)
		must(t, err)
		prev, err := s.PreviousRefreshHashes(ctx, g)
		must(t, err)
		// Every other attempt presented the rotated-away r0: reuse, which
		// revoked the grant.
		if got.RefreshHash != rotated[g][0] || !slices.Equal(prev, []string{"r0"}) || got.RevokedAt.IsZero() {
			t.Errorf("grant %s = hash %q, previous %v, revoked %v; want the winner's %q, [r0], revoked",
				g, got.RefreshHash, prev, got.RevokedAt, rotated[g][0])
		}
	}
	list, err := s.ListClients(ctx)
	must(t, err)
	var gotIDs, wantIDs []string
	for _, c := range list {
		gotIDs = append(gotIDs, c.ID)
	}
	for id := range children {
		for i := range clients {
			wantIDs = append(wantIDs, clientID(id, i))
		}
	}
	slices.Sort(wantIDs)
	if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
		t.Errorf("clients after both children (-want +got):\n%s", diff)
	}
}

// TestWriterNotStarved writes while another process reads without pause
// from many goroutines, so that its readers nearly always hold the shared
// file lock between them. The turnstile lets each write in well within the
// timeout; with flock(2) alone a write can wait for seconds.
func TestWriterNotStarved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := openTest(t, path, &Options{SweepInterval: -1, Timeout: 2 * time.Second})
	ctx := t.Context()
	must(t, s.CreateGrant(ctx, &store.Grant{ID: "g", RefreshHash: "r0", ExpiresAt: time.Now().Add(time.Hour)}))
	reader := startChild(t, childJob{Path: path, ID: 0, Grants: []string{"g"}, Readers: 16})
	for i := range 20 {
		if err := s.CreateClient(ctx, &store.Client{ID: "c" + strconv.Itoa(i)}); err != nil {
			t.Fatalf("write %d beside the reading process: %v", i, err)
		}
	}
	_, err := io.WriteString(reader.stdin, "stop\n")
	must(t, err)
	var res childResult
	decErr := json.NewDecoder(reader.stdout).Decode(&res)
	if err := reader.cmd.Wait(); err != nil || decErr != nil {
		t.Fatalf("reader: %v, result %v; stderr:\n%s", err, decErr, reader.stderr.String())
	}
	if res.Reads < 160 {
		t.Fatalf("the reading process read %d times, want it busy throughout", res.Reads)
	}
}
