package pve

import (
	"testing"
	"time"
)

// schedule replays the polling of a task that ends at d: the number of
// polls and the time between its end and the poll that sees it.
func schedule(d, expect time.Duration) (polls int, gap time.Duration) {
	var t time.Duration
	for polls = 0; ; polls++ {
		t += nextPoll(t, expect, polls)
		if t >= d {
			return polls + 1, t - d
		}
	}
}

// legacySchedule is the fixed backoff the client used before (50 ms, x1.5,
// at most 2 s, first look at once).
func legacySchedule(d time.Duration) (polls int, gap time.Duration) {
	var t, delay time.Duration
	for polls = 1; t < d; polls++ {
		delay = Backoff{Initial: 50 * time.Millisecond, Max: 2 * time.Second}.Next(delay)
		t += delay
	}
	return polls, t - d
}

func TestPollingNoticesWithinATenthOfTheDuration(t *testing.T) {
	for _, d := range []time.Duration{150 * time.Millisecond, 700 * time.Millisecond, 2 * time.Second, 3 * time.Second,
		10 * time.Second, 20 * time.Second, 7 * time.Minute} {
		for _, expect := range []time.Duration{0, d * 98 / 100, d / 2} {
			polls, gap := schedule(d, expect)
			if gap >= d/10 {
				t.Errorf("%s task (expecting %s): noticed %s late, more than a tenth", d, expect, gap)
			}
			legacyPolls, legacyGap := legacySchedule(d)
			// Knowing how long such tasks take (the last ones, or PVE's task
			// history), it polls less than the fixed backoff did.
			if expect == d*98/100 && (polls > legacyPolls || d >= time.Second && polls >= legacyPolls) {
				t.Errorf("%s task like the last ones: %d polls, not fewer than the fixed backoff's %d", d, polls, legacyPolls)
			}
			t.Logf("%8s expecting %8s: %3d polls, %7s late (fixed backoff: %3d polls, %7s late)", d, expect, polls,
				gap.Round(time.Millisecond), legacyPolls, legacyGap.Round(time.Millisecond))
		}
	}
}

// Between polls the delay grows with the time waited, never beyond 5 s.
func TestPollDelayIsBounded(t *testing.T) {
	if d := nextPoll(time.Hour, 0, 100); d != pollMax {
		t.Fatalf("an hour in: %s", d)
	}
	if d := nextPoll(0, 0, 0); d != pollMin {
		t.Fatalf("first look: %s", d)
	}
	if d := nextPoll(pollMin, 20*time.Second, 1); d != 18*time.Second-pollMin {
		t.Fatalf("a task expected to take 20 s is next looked at shortly before 18 s, got %s", d)
	}
}

func TestParseUPID(t *testing.T) {
	u, ok := ParseUPID("UPID:pve2:0000C350:000186A0:6650A1B2:vzclone:900:root@pam!phoenix:")
	if !ok || u.Node != "pve2" || u.Type != "vzclone" || u.ID != "900" || u.User != "root@pam!phoenix" {
		t.Fatalf("%+v %v", u, ok)
	}
	if _, ok := ParseUPID("nonsense"); ok {
		t.Fatal("not a UPID")
	}
}
