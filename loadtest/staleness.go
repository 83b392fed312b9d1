package loadtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Staleness is what MeasureStaleness saw: of Rounds lookups made right
// after an acknowledged write that changes their answer, how many did not
// show it.
type Staleness struct {
	Rounds, Stale int
}

func (s Staleness) String() string { return fmt.Sprintf("%d of %d", s.Stale, s.Rounds) }

// MeasureStaleness creates a GT of its own through writer and, round after
// round, looks a point up through target (which a cache in front then
// holds), inserts an IOV that takes the point over, and looks it up again
// through target: the second answer must show the new IOV.
func MeasureStaleness(ctx context.Context, writer *Client, target string, rounds int) (Staleness, error) {
	var out Staleness
	gt := fmt.Sprintf("staleness_%d", time.Now().UnixNano())
	if err := writer.CreateStatus(ctx, "unlocked"); err != nil {
		return out, err
	}
	if err := writer.CreateGlobalTag(ctx, gt, "loadtest"); err != nil {
		return out, err
	}
	pt := gt + "_type"
	if err := writer.CreatePayloadType(ctx, pt); err != nil {
		return out, err
	}
	list, err := writer.CreateAttachedList(ctx, gt, pt)
	if err != nil {
		return out, err
	}
	reader := NewClient(target)
	for i := range rounds {
		path := "payloadiovs/?" + url.Values{"gtName": {gt}, "majorIOV": {fmt.Sprint(i)}, "minorIOV": {"0"}}.Encode()
		if _, err := reader.Get(ctx, path); err != nil {
			return out, fmt.Errorf("round %d: lookup before the write: %w", i, err)
		}
		payload := fmt.Sprintf("/cvmfs/staleness/%s/round%04d.root", gt, i)
		if err := writer.InsertIOV(ctx, list, IOV{URL: payload, Checksum: fmt.Sprintf("%032x", i), Major: int64(i)}); err != nil {
			return out, fmt.Errorf("round %d: write: %w", i, err)
		}
		res, err := reader.Get(ctx, path)
		if err != nil {
			return out, fmt.Errorf("round %d: lookup after the write: %w", i, err)
		}
		out.Rounds++
		if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"`+payload+`"`) {
			out.Stale++
		}
	}
	return out, nil
}
