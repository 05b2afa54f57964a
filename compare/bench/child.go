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
	"strings"

	"tickertape/feed"
	"time"
)

// Child returns a Config.Start that starts the server binary exe with args
// for each transport's turn, as a child process: the server's CPU and
// memory on its /metrics are then its own, not the clients'.
func Child(exe string, args ...string) func(context.Context, feed.Transport) (Target, error) {
	return func(ctx context.Context, _ feed.Transport) (Target, error) { return startChild(ctx, exe, args...) }
}

// startChild starts the server binary exe with args and waits for its
// "listening on" line. Stop interrupts it (a clean shutdown) and waits.
func startChild(ctx context.Context, exe string, args ...string) (Target, error) {
	cmd := exec.Command(exe, args...)
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
		return Target{URL: u, Stop: stop}, nil
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
