package loadtest

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
)

// DemoGlobalTag is the GT that LoadDemo creates.
const DemoGlobalTag = "sPHENIX_Demo_GT"

// LoadDemo loads a small demo data set through the write API at c: the three
// statuses, one unlocked GT with three payload types, each with IOVs starting
// at runs 1, 100 and 200 (the last one open-ended), and a locked clone.
func LoadDemo(ctx context.Context, c *Client) error {
	for _, s := range []string{"unlocked", "locked", "frozen"} {
		if err := c.CreateStatus(ctx, s); err != nil {
			return err
		}
	}
	if err := c.CreateGlobalTag(ctx, DemoGlobalTag, "demo"); err != nil {
		return err
	}
	for _, pt := range []string{"Beam", "CEMC_Calibration", "ZDC_Geometry"} {
		if err := c.CreatePayloadType(ctx, pt); err != nil {
			return err
		}
		list, err := c.CreateAttachedList(ctx, DemoGlobalTag, pt)
		if err != nil {
			return err
		}
		runs := []int64{1, 100, 200}
		for i, run := range runs {
			iov := IOV{URL: fmt.Sprintf("/cvmfs/sphenix.sdcc.bnl.gov/calibrations/%s/run%06d.root", pt, run), Major: run}
			sum := md5.Sum([]byte(iov.URL))
			iov.Checksum = hex.EncodeToString(sum[:])
			if i+1 < len(runs) {
				iov.End = &[2]int64{runs[i+1], 0}
			}
			if err := c.InsertIOV(ctx, list, iov); err != nil {
				return err
			}
		}
	}
	locked := DemoGlobalTag + "_locked"
	if err := c.Do(ctx, "POST", "cloneGlobalTag/"+DemoGlobalTag+"/"+locked, nil, nil); err != nil {
		return err
	}
	return c.ChangeStatus(ctx, locked, "locked")
}

// DemoLookup is a lookup of the demo data set, as path and query of a
// reader's URL.
const DemoLookup = "/api/cdb_rest/payloadiovs/?gtName=" + DemoGlobalTag + "&majorIOV=150&minorIOV=0"

// LoadDemoAt loads the demo data set (LoadDemo) through the server at
// baseURL.
func LoadDemoAt(ctx context.Context, baseURL string) error { return LoadDemo(ctx, NewClient(baseURL)) }
