package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"tickertape/feed"
)

// Child returns a [Side.Start] that starts the server binary exe with args
// for each run, as a child process: the server's CPU and memory on its
// /metrics are then its own, not the clients'.
func Child(exe string, args ...string) func(context.Context) (Target, error) {
	return func(ctx context.Context) (Target, error) { return startChild(ctx, nil, exe, args...) }
}

// ChildTLS is [Child] for a server that serves TLS (and so HTTP/2) with
// cert: the certificate and key reach the child through two pipes, as
// -tls-cert /dev/fd/3 -tls-key /dev/fd/4, so they are never written to a
// file. The Target's RootCAs trust cert alone.
func ChildTLS(cert *Certificate, exe string, args ...string) func(context.Context) (Target, error) {
	return func(ctx context.Context) (Target, error) { return startChild(ctx, cert, exe, args...) }
}

// pipeOf returns the read end of a pipe that holds b and then ends. b
// must fit in the pipe's buffer (a certificate does, with room to spare).
func pipeOf(b []byte) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	_, err = w.Write(b)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// startChild starts the server binary exe with args (and cert, if not
// nil) and waits for its "listening on" line. Stop interrupts it (a clean
// shutdown) and waits.
func startChild(ctx context.Context, cert *Certificate, exe string, args ...string) (Target, error) {
	var extra []*os.File
	if cert != nil {
		for _, b := range [][]byte{cert.CertPEM, cert.KeyPEM} {
			f, err := pipeOf(b)
			if err != nil {
				return Target{}, fmt.Errorf("bench: handing the certificate to the server: %w", err)
			}
			defer f.Close() // the child has its own copy once started
			extra = append(extra, f)
		}
		args = append(slices.Clip(args), "-tls-cert", "/dev/fd/3", "-tls-key", "/dev/fd/4")
	}
	cmd := exec.Command(exe, args...)
	cmd.ExtraFiles = extra // fd 3 and 4 in the child
	// The child is exactly what the bench's flags say: no TICKERTAPE_*
	// setting meant for a server (a TLS certificate, a source file) leaks in.
	cmd.Env = []string{} // not nil, which would mean "inherit everything"
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TICKERTAPE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return Target{}, err
	}
	var errBuf headBuffer
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		return Target{}, fmt.Errorf("bench: starting the server: %w", err)
	}
	waitCh := make(chan error, 1)
	urlCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), "listening on "); ok {
				urlCh <- strings.TrimSpace(u)
				break
			}
		}
		io.Copy(io.Discard, out) // keep the pipe drained
		waitCh <- cmd.Wait()
	}()
	stop := func() error {
		cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-waitCh:
			return err
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			return errors.Join(errors.New("bench: the server did not stop in 15s; killed"), <-waitCh)
		}
	}
	select {
	case u := <-urlCh:
		t := Target{URL: u, Stop: stop, PID: cmd.Process.Pid}
		if cert != nil {
			t.RootCAs = cert.Pool
		}
		return t, nil
	case err := <-waitCh:
		return Target{}, fmt.Errorf("bench: the server exited (%v): %s", err, bytes.TrimSpace(errBuf.Bytes()))
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-waitCh
		return Target{}, errors.New("bench: the server did not say where it listens within 30s")
	case <-ctx.Done():
		cmd.Process.Kill()
		<-waitCh
		return Target{}, ctx.Err()
	}
}

// headBuffer keeps the first 64 KiB a child writes on its stderr, so that a
// chatty child cannot grow it without end. It needs no lock: only exec's
// copier writes to it, and it is read after cmd.Wait, which waits for the
// copier.
type headBuffer struct {
	bytes.Buffer
}

func (b *headBuffer) Write(p []byte) (int, error) {
	if b.Len() < 64<<10 {
		b.Buffer.Write(p)
	}
	return len(p), nil
}

// ServerConfig is the server a bench starts for each run: its market, and
// room for the clients.
type ServerConfig struct {
	Rate       float64 // quote events per second, as the server's -rate
	Symbols    string  // as the server's -symbols; "" is its default universe
	Seed       int64   // the market's seed, as the server's -seed
	MaxStreams int     // as the server's -max-streams; 0 is its default
}

// StartFunc starts a server inside this process, as sc says, and returns
// it as a Target whose Stop shuts it down and waits for it. The program's
// own node constructor is one (package main hands it to [JobsOptions]), so
// that a run from the dashboard benches the very server tickertape runs;
// this package cannot import main.
type StartFunc func(ctx context.Context, sc ServerConfig) (Target, error)

// InProcess returns a Config.Start that starts a fresh server with start
// for each run. The server shares the bench's process: its CPU and memory
// figures include the clients' (Target.Shared).
func InProcess(start StartFunc, sc ServerConfig) func(context.Context, feed.Transport) (Target, error) {
	return func(ctx context.Context, _ feed.Transport) (Target, error) {
		t, err := start(ctx, sc)
		if err != nil {
			return Target{}, err
		}
		t.Shared = true
		return t, nil
	}
}
