package e2e

import (
	"context"
	"testing"

	"github.com/condcache/condcache/loadtest"
)

// TestDemoData loads make run's demo data set through a reader of its own
// and checks the lookup that make run prints, on the GT and its locked clone.
func TestDemoData(t *testing.T) {
	sv := startServers(t)
	ctx := context.Background()
	c := loadtest.NewClient(sv.ReaderURL)
	if err := loadtest.LoadDemo(ctx, c); err != nil {
		t.Fatalf("LoadDemo: %v", err)
	}
	for _, gt := range []string{loadtest.DemoGlobalTag, loadtest.DemoGlobalTag + "_locked"} {
		rows, err := c.Lookup(ctx, gt, 150, 0)
		if err != nil {
			t.Fatalf("lookup %s: %v", gt, err)
		}
		if len(rows) != 3 {
			t.Fatalf("lookup %s at run 150: %d rows, want one per payload type (3): %v", gt, len(rows), rows)
		}
		for _, r := range rows {
			if r[4] != float64(100) || r[6] != float64(200) {
				t.Errorf("lookup %s at run 150: row %v, want the IOV [100, 200)", gt, r)
			}
		}
		if rows, _ := c.Lookup(ctx, gt, 0, 5); len(rows) != 0 {
			t.Errorf("lookup %s before the first IOV: %v, want no rows", gt, rows)
		}
	}
	// The clone was locked: a same-start insert into it is refused.
	var lists map[string]string
	if err := c.Do(ctx, "GET", "gtPayloadLists/"+loadtest.DemoGlobalTag+"_locked", nil, &lists); err != nil {
		t.Fatal(err)
	}
	err := c.InsertIOV(ctx, lists["Beam"], loadtest.IOV{URL: "x.root", Checksum: "c", Major: 100})
	if apiErr, ok := err.(*loadtest.APIError); !ok || apiErr.Status != 409 {
		t.Errorf("same-start insert into the locked clone: %v, want HTTP 409", err)
	}
}
