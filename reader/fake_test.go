package reader

import (
	"context"
	"sync"
	"time"

	"github.com/condcache/condcache"
)

// fakeService is a condcache.ReadService returning fixed domain values. It
// exists only to test the HTTP mapping; the real answers are tested end to
// end against PostgreSQL. err, when set, is returned by every call; panic
// makes every call panic.
type fakeService struct {
	mu        sync.Mutex
	err       error
	panicMsg  string
	readyErr  error
	lookups   []lookupCall
	browses   []condcache.BrowseQuery
	names     []string // names passed to by-name calls
	ids       []int64
	typeLists []condcache.TypeList
}

type lookupCall struct {
	globalTag string
	at        condcache.Point
}

var (
	t0       = time.Date(2026, 7, 23, 0, 5, 9, 831925000, time.UTC)
	author   = "admin"
	gtName   = "sPHENIX_ExampleGT_24"
	listName = "Beam_210"
	size     = int64(1234)
	revision = "r1"
	combIOV  = "0.0000000000000000000"

	fixedStatus = condcache.GlobalTagStatus{ID: 1, Name: "unlocked", Created: t0}
	fixedGT     = condcache.GlobalTag{ID: 1, Name: gtName, Author: &author, Status: fixedStatus, Created: t0, Updated: t0}
	fixedIOV    = condcache.PayloadIOV{ID: 1, PayloadURL: "D0DXMagnets.dat", Checksum: "e99a", Start: condcache.Point{},
		End: condcache.OpenEnd, CombIOV: &combIOV, PayloadList: &listName, Created: t0}
	gtID      = int64(1)
	fixedList = condcache.PayloadList{ID: 210, Name: listName, GlobalTagID: &gtID, GlobalTag: &gtName,
		PayloadTypeID: 3, PayloadType: "Beam", Created: t0, Updated: t0}
	fixedRows = []condcache.LookupRow{
		{PayloadType: "Beam", PayloadURL: "D0DXMagnets.dat", Checksum: "e99a", Start: condcache.Point{Minor: 999999}, End: condcache.OpenEnd},
		{PayloadType: "CEMC", PayloadURL: "cemc.root", Checksum: "", Size: &size, Start: condcache.Point{Major: -5, Minor: 1},
			End: condcache.Point{Major: 7, Minor: 8}, Revision: &revision},
	}
)

func (f *fakeService) call() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panicMsg != "" {
		panic(f.panicMsg)
	}
	return f.err
}

func (f *fakeService) recordName(name string) {
	f.mu.Lock()
	f.names = append(f.names, name)
	f.mu.Unlock()
}

func (f *fakeService) recordID(id int64) {
	f.mu.Lock()
	f.ids = append(f.ids, id)
	f.mu.Unlock()
}

func (f *fakeService) recordBrowse(q condcache.BrowseQuery) {
	f.mu.Lock()
	f.browses = append(f.browses, q)
	f.mu.Unlock()
}

func (f *fakeService) LookupAt(ctx context.Context, globalTag string, at condcache.Point, _ condcache.Freshness) (condcache.LookupResult, error) {
	rows, err := f.lookup(globalTag, at)
	return condcache.LookupResult{Rows: rows, Found: rows != nil, Status: "unlocked", Generation: 1,
		Window: condcache.Window{From: condcache.MinCombKey, Until: condcache.MaxCombKey}}, err
}

func (f *fakeService) lookup(globalTag string, at condcache.Point) ([]condcache.LookupRow, error) {
	f.mu.Lock()
	f.lookups = append(f.lookups, lookupCall{globalTag, at})
	f.mu.Unlock()
	if err := f.call(); err != nil {
		return nil, err
	}
	if globalTag != gtName {
		return nil, nil
	}
	return fixedRows, nil
}

func (f *fakeService) GlobalTagStatuses(context.Context) ([]condcache.GlobalTagStatus, error) {
	return []condcache.GlobalTagStatus{fixedStatus}, f.call()
}

func (f *fakeService) GlobalTags(context.Context) ([]condcache.GlobalTagFull, error) {
	return []condcache.GlobalTagFull{f.full()}, f.call()
}

func (f *fakeService) full() condcache.GlobalTagFull {
	return condcache.GlobalTagFull{GlobalTag: fixedGT, PayloadLists: []condcache.PayloadListFull{
		{PayloadList: fixedList, PayloadIOVs: []condcache.PayloadIOV{fixedIOV}},
	}}
}

func (f *fakeService) GlobalTagByID(_ context.Context, id int64) (condcache.GlobalTagFull, error) {
	f.recordID(id)
	if err := f.call(); err != nil {
		return condcache.GlobalTagFull{}, err
	}
	if id != fixedGT.ID {
		return condcache.GlobalTagFull{}, errNotFound
	}
	return f.full(), nil
}

func (f *fakeService) GlobalTagByName(_ context.Context, name string) (condcache.GlobalTagFull, error) {
	f.recordName(name)
	if err := f.call(); err != nil {
		return condcache.GlobalTagFull{}, err
	}
	if name != gtName {
		return condcache.GlobalTagFull{}, errNotFound
	}
	return f.full(), nil
}

func (f *fakeService) GlobalTagSummaryByName(_ context.Context, name string) (condcache.GlobalTagSummary, error) {
	f.recordName(name)
	if err := f.call(); err != nil {
		return condcache.GlobalTagSummary{}, err
	}
	if name != gtName {
		return condcache.GlobalTagSummary{}, errNotFound
	}
	return f.summary(), nil
}

func (f *fakeService) summary() condcache.GlobalTagSummary {
	return condcache.GlobalTagSummary{GlobalTag: fixedGT, PayloadListCount: 1, PayloadIOVCount: 2}
}

func (f *fakeService) GlobalTagSummaries(context.Context) ([]condcache.GlobalTagSummary, error) {
	return []condcache.GlobalTagSummary{f.summary()}, f.call()
}

func (f *fakeService) BrowseGlobalTags(_ context.Context, q condcache.BrowseQuery) (condcache.Page[condcache.GlobalTagSummary], error) {
	f.recordBrowse(q)
	return condcache.Page[condcache.GlobalTagSummary]{Count: 28, Page: q.Page, PageSize: q.PageSize, TotalPages: 14,
		Results: []condcache.GlobalTagSummary{f.summary()}}, f.call()
}

func (f *fakeService) GlobalTagPayloadLists(_ context.Context, name string) ([]condcache.TypeList, error) {
	f.recordName(name)
	if err := f.call(); err != nil {
		return nil, err
	}
	if name != gtName {
		return nil, nil
	}
	return f.typeLists, nil
}

func (f *fakeService) PayloadTypes(context.Context) ([]condcache.PayloadType, error) {
	return []condcache.PayloadType{{ID: 3, Name: "Beam", Created: t0}}, f.call()
}

func (f *fakeService) BrowsePayloadTypes(_ context.Context, q condcache.BrowseQuery) (condcache.Page[condcache.PayloadType], error) {
	f.recordBrowse(q)
	return condcache.Page[condcache.PayloadType]{Count: 1, Page: q.Page, PageSize: q.PageSize, TotalPages: 1,
		Results: []condcache.PayloadType{{ID: 3, Name: "Beam", Created: t0}}}, f.call()
}

func (f *fakeService) PayloadLists(context.Context) ([]condcache.PayloadListFull, error) {
	return f.full().PayloadLists, f.call()
}

func (f *fakeService) PayloadListByID(_ context.Context, id int64) (condcache.PayloadList, error) {
	f.recordID(id)
	if err := f.call(); err != nil {
		return condcache.PayloadList{}, err
	}
	if id != fixedList.ID {
		return condcache.PayloadList{}, errNotFound
	}
	return fixedList, nil
}

func (f *fakeService) PayloadListByName(_ context.Context, name string) (condcache.PayloadListSummary, error) {
	f.recordName(name)
	if err := f.call(); err != nil {
		return condcache.PayloadListSummary{}, err
	}
	if name != listName {
		return condcache.PayloadListSummary{}, errNotFound
	}
	return condcache.PayloadListSummary{PayloadList: fixedList, IOVCount: 12}, nil
}

func (f *fakeService) BrowsePayloadLists(_ context.Context, q condcache.BrowseQuery) (condcache.Page[condcache.PayloadListSummary], error) {
	f.recordBrowse(q)
	return condcache.Page[condcache.PayloadListSummary]{Count: 1, Page: q.Page, PageSize: q.PageSize, TotalPages: 1,
		Results: []condcache.PayloadListSummary{{PayloadList: fixedList, IOVCount: 12}}}, f.call()
}

func (f *fakeService) PayloadIOVs(context.Context) ([]condcache.PayloadIOV, error) {
	return []condcache.PayloadIOV{fixedIOV}, f.call()
}

func (f *fakeService) PayloadIOVByID(_ context.Context, id int64) (condcache.PayloadIOV, error) {
	f.recordID(id)
	if err := f.call(); err != nil {
		return condcache.PayloadIOV{}, err
	}
	if id != fixedIOV.ID {
		return condcache.PayloadIOV{}, errNotFound
	}
	return fixedIOV, nil
}

func (f *fakeService) BrowsePayloadIOVs(_ context.Context, q condcache.BrowseQuery) (condcache.Page[condcache.PayloadIOVBrowse], error) {
	f.recordBrowse(q)
	return condcache.Page[condcache.PayloadIOVBrowse]{Count: 1, Page: q.Page, PageSize: q.PageSize, TotalPages: 1,
		Results: []condcache.PayloadIOVBrowse{{PayloadIOV: fixedIOV, GlobalTag: &gtName}}}, f.call()
}

func (f *fakeService) Ready(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readyErr
}
