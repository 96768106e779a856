//go:build linux

package pvesim

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// lockManager reproduces PVE's flock-style file locks: one holder per path,
// waiters queue, and give up after the timeout with PVE's message.
type lockManager struct {
	mu   sync.Mutex
	sems map[string]chan struct{}
}

func newLockManager() *lockManager { return &lockManager{sems: map[string]chan struct{}{}} }

func (l *lockManager) sem(path string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.sems[path]
	if !ok {
		s = make(chan struct{}, 1)
		l.sems[path] = s
	}
	return s
}

// acquire waits for path up to timeout; the returned func releases it.
func (l *lockManager) acquire(ctx context.Context, path string, timeout time.Duration) (func(), error) {
	s := l.sem(path)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case s <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-s }) }, nil
	case <-t.C:
		return nil, die("can't lock file '%s' - got timeout", path)
	case <-ctx.Done():
		return nil, die("can't lock file '%s' - %v", path, ctx.Err())
	}
}

// acquireAll takes several locks in order, releasing all on failure.
func (l *lockManager) acquireAll(ctx context.Context, paths []string, timeout time.Duration) (func(), error) {
	var rels []func()
	release := func() {
		for i := len(rels) - 1; i >= 0; i-- {
			rels[i]()
		}
	}
	for _, p := range paths {
		r, err := l.acquire(ctx, p, timeout)
		if err != nil {
			release()
			return nil, err
		}
		rels = append(rels, r)
	}
	return release, nil
}

// guestLockPath is the flock file PVE uses for a guest config.
func guestLockPath(kind string, vmid int) string {
	if kind == "lxc" {
		return fmt.Sprintf("/run/lock/lxc/pve-config-%d.lock", vmid)
	}
	return fmt.Sprintf("/var/lock/qemu-server/lock-%d.conf", vmid)
}

func storageLockPath(id string) string { return "/var/lock/pve-manager/pve-storage-" + id }
