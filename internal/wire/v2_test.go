package wire

import (
	"encoding/json"
	"testing"

	"github.com/condcache/condcache"
)

// TestDryRunAnswerBounds: a dry run of a large write lists at most the
// bounds, and says how many entries there are.
func TestDryRunAnswerBounds(t *testing.T) {
	d := &condcache.DryRun{
		Changes:       make([]condcache.RowChange, MaxDryRunChanges+5),
		AnswerChanges: make([]condcache.AnswerChange, 3),
	}
	var got struct {
		ChangesTotal       int               `json:"changes_total"`
		Changes            []json.RawMessage `json:"changes"`
		AnswerChangesTotal int               `json:"answer_changes_total"`
		AnswerChanges      []json.RawMessage `json:"answer_changes"`
		Response           json.RawMessage   `json:"response"`
	}
	if err := json.Unmarshal(Marshal(NewDryRunAnswer(d, []byte(`{"id":1}`))), &got); err != nil {
		t.Fatal(err)
	}
	if got.ChangesTotal != MaxDryRunChanges+5 || len(got.Changes) != MaxDryRunChanges ||
		got.AnswerChangesTotal != 3 || len(got.AnswerChanges) != 3 || string(got.Response) != `{"id":1}` {
		t.Errorf("totals %d/%d, lists %d/%d, response %s", got.ChangesTotal, got.AnswerChangesTotal,
			len(got.Changes), len(got.AnswerChanges), got.Response)
	}
	if b := Marshal(NewDryRunAnswer(&condcache.DryRun{}, []byte("not json"))); string(b) !=
		`{"dry_run":true,"response":null,"changes_total":0,"changes":[],"answer_changes_total":0,"answer_changes":[]}` {
		t.Errorf("empty dry run: %s", b)
	}
}
