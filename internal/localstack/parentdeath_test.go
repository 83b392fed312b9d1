package localstack

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

const helperDirEnv = "LOCALSTACK_TEST_HELPER_DIR"

// TestParentDeath checks the promise that servers die with the process that
// started them, even when it is SIGKILLed and never calls Stop.
func TestParentDeath(t *testing.T) {
	if _, err := FindPGBin(); err != nil && os.Getenv("CI") != "true" {
		t.Skipf("skipping: %v", err)
	}
	if _, err := FindRedis(); err != nil && os.Getenv("CI") != "true" {
		t.Skipf("skipping: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperStack$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperDirEnv+"="+t.TempDir())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var procs []procID
	sc := bufio.NewScanner(out)
	for procs == nil && sc.Scan() {
		pids, ok := strings.CutPrefix(sc.Text(), "PIDS ")
		if !ok {
			continue
		}
		for _, f := range strings.Fields(pids) {
			pid, _ := strconv.Atoi(f)
			st, ok := readStat(pid)
			if !ok {
				t.Fatalf("server pid %d not running", pid)
			}
			procs = append(procs, procID{pid: pid, start: st.start})
			procs = append(procs, descendants(pid)...)
		}
	}
	if procs == nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("helper did not report its server pids")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if err := waitGone(procs, 30*time.Second); err != nil {
		t.Fatalf("servers outlived their SIGKILLed parent: %v", err)
	}
}

// TestHelperStack is the child process of TestParentDeath.
func TestHelperStack(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		t.Skip("helper process for TestParentDeath")
	}
	s, err := Start(t.Context(), Options{Dir: dir, Replicas: 1, Redis: true, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("PIDS %d %d %d\n", s.Primary.Pid(), s.Replicas[0].Pid(), s.Redis.Pid())
	time.Sleep(time.Minute) // until TestParentDeath kills us
}
