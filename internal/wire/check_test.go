package wire

import (
	"testing"

	"github.com/condcache/condcache"
)

func TestCheckReport(t *testing.T) {
	gt := "GT<&>"
	findings := []condcache.Finding{
		{Kind: condcache.FindingDuplicateType, GlobalTag: gt, PayloadType: "Beam", IDs: []int64{3, 7}, Detail: "two lists"},
		{Kind: condcache.FindingOverlap, GlobalTag: gt, PayloadType: "Beam", PayloadList: "Beam_7", IDs: []int64{12, 15}, Detail: "IOV 12 [(0,1), (MAX,MAX))"},
	}
	want := `{"global_tag":"GT<&>","count":2,"findings":[` +
		`{"kind":"duplicate_type","severity":"warning","global_tag":"GT<&>","payload_type":"Beam","payload_list":null,"ids":[3,7],"detail":"two lists"},` +
		`{"kind":"overlap","severity":"warning","global_tag":"GT<&>","payload_type":"Beam","payload_list":"Beam_7","ids":[12,15],"detail":"IOV 12 [(0,1), (MAX,MAX))"}]}`
	if got := string(Marshal(NewCheckReport(&gt, findings))); got != want {
		t.Errorf("report\n got %s\nwant %s", got, want)
	}
	if got, want := string(Marshal(NewCheckReport(nil, nil))), `{"global_tag":null,"count":0,"findings":[]}`; got != want {
		t.Errorf("empty report of every GT = %s, want %s", got, want)
	}
}
