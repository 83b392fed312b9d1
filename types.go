package condcache

import "time"

// Status names with a meaning; any other status name behaves like unlocked.
const (
	StatusUnlocked = "unlocked"
	StatusLocked   = "locked"
	StatusFrozen   = "frozen"
)

// Column limits of the Nopayloaddb schema (varchar lengths).
const (
	MaxNameLen     = 80  // GlobalTag, GlobalTagStatus, PayloadType name; GlobalTag author
	MaxListNameLen = 255 // PayloadList name
	MaxTextLen     = 255 // payload_url, checksum, description, extra
)

// GlobalTagStatus is a row of "GlobalTagStatus".
type GlobalTagStatus struct {
	ID          int64
	Name        string
	Description *string
	Created     time.Time
}

// GlobalTag is a row of "GlobalTag" with its status.
type GlobalTag struct {
	ID          int64
	Name        string
	Author      *string
	Description *string
	Status      GlobalTagStatus
	Created     time.Time
	Updated     time.Time
}

// GlobalTagSummary is a GlobalTag with the number of payload lists attached to
// it and of IOVs attached to those lists.
type GlobalTagSummary struct {
	GlobalTag
	PayloadListCount int64
	PayloadIOVCount  int64
}

// GlobalTagFull is a GlobalTag with its attached lists and their attached IOVs.
type GlobalTagFull struct {
	GlobalTag
	PayloadLists []PayloadListFull
}

// PayloadType is a row of "PayloadType".
type PayloadType struct {
	ID          int64
	Name        string
	Description *string
	Created     time.Time
}

// PayloadList is a row of "PayloadList" with the names it refers to.
type PayloadList struct {
	ID            int64
	Name          string
	Description   *string
	GlobalTagID   *int64  // nil when detached
	GlobalTag     *string // GT name, nil when detached
	PayloadTypeID int64
	PayloadType   string // PT name
	Created       time.Time
	Updated       time.Time
}

// PayloadListSummary is a PayloadList with the number of IOVs attached to it.
type PayloadListSummary struct {
	PayloadList
	IOVCount int64
}

// PayloadListFull is a PayloadList with its attached IOVs.
type PayloadListFull struct {
	PayloadList
	PayloadIOVs []PayloadIOV
}

// PayloadIOV is a row of "PayloadIOV".
type PayloadIOV struct {
	ID            int64
	PayloadURL    string
	Checksum      string
	Size          *int64
	Start         Point     // (major_iov, minor_iov)
	End           Point     // (major_iov_end, minor_iov_end)
	CombIOV       *string   // as stored (numeric text); nil only for rows written behind our back
	Extra         *string   // JSON "revision"
	PayloadListID *int64    // nil when detached
	PayloadList   *string   // list name, nil when detached
	Created       time.Time // JSON "inserted"
	Updated       time.Time
}

// PayloadIOVBrowse is a PayloadIOV with the GT and PT names of its list, as the
// browse view shows it.
type PayloadIOVBrowse struct {
	PayloadIOV
	GlobalTag   *string
	PayloadType *string
}

// NewPayloadIOV is the input of a single IOV creation (POST piov).
type NewPayloadIOV struct {
	PayloadURL string
	Checksum   string
	Size       *int64
	Start, End Point
}

// BulkPayloadIOV is one element of a bulk creation (POST bulk_piov): the IOV is
// created attached to the list named PayloadList. Checksum defaults to "" and
// End to OpenEnd when the client did not send them.
type BulkPayloadIOV struct {
	PayloadList string
	PayloadURL  string
	Checksum    string
	Size        *int64
	Start, End  Point
}

// LookupRow is one row of the run lookup: the IOV that holds at the requested
// point for one payload list attached to the GT.
type LookupRow struct {
	PayloadType string
	PayloadURL  string
	Checksum    string
	Size        *int64
	Start, End  Point
	Revision    *string // column extra
	// ID and ListID are the IOV's and its list's ids, which the
	// compatible answer does not show (notices match them).
	ID, ListID int64
}

// TypeList pairs a payload type name with the name of the list of that type
// attached to a GT (GET gtPayloadLists).
type TypeList struct {
	PayloadType string
	PayloadList string
}
