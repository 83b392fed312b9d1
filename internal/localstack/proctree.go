package localstack

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// procID identifies a process across pid reuse: pid plus start time.
type procID struct {
	pid   int
	start uint64
}

// procStat is the part of /proc/<pid>/stat we need.
type procStat struct {
	ppid  int
	state byte
	start uint64 // clock ticks since boot
}

// readStat parses /proc/<pid>/stat; ok is false if the process is gone.
func readStat(pid int) (st procStat, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return st, false
	}
	// The command name is in parentheses and may itself contain spaces or
	// parentheses, so fields are counted from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return st, false
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 20 {
		return st, false
	}
	st.state = f[0][0]
	st.ppid, _ = strconv.Atoi(string(f[1]))
	st.start, _ = strconv.ParseUint(string(f[19]), 10, 64)
	return st, true
}

// descendants returns all live descendants of root, found by scanning /proc.
func descendants(root int) []procID {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]procID{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok && !isDead(st.state) {
			children[st.ppid] = append(children[st.ppid], procID{pid: pid, start: st.start})
		}
	}
	var out []procID
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
	}
	return out
}

// alive reports whether the process still runs. Zombies count as gone: our
// killed grandchildren are reparented to PID 1, which may never reap them,
// but they no longer hold ports or shared memory.
func alive(id procID) bool {
	st, ok := readStat(id.pid)
	return ok && st.start == id.start && !isDead(st.state)
}

func isDead(state byte) bool { return state == 'Z' || state == 'X' || state == 'x' }

// waitGone waits until none of ids is alive.
func waitGone(ids []procID, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, id := range ids {
		for alive(id) {
			if time.Now().After(deadline) {
				return fmt.Errorf("pid %d still alive after %v", id.pid, timeout)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}
