package condcache

import "context"

// FindingKind names a state of the stored data that makes lookups ambiguous
// or surprising (docs/design.md "Consistency check"). Databases written by
// Nopayloaddb, whose attach had such bugs, are where they are expected.
type FindingKind string

const (
	// FindingDuplicateStart: two IOVs attached to one list start at the
	// same point; the lookup answers the one with the highest id.
	FindingDuplicateStart FindingKind = "duplicate_start"
	// FindingOverlap: an IOV still holds at the next greater start of its
	// list: its end is after that start (continuous mode) or at or after it
	// (discrete mode, ends inclusive). From there lookups answer the later
	// IOV. Open-ended IOVs are summarised as FindingOpenEndedOverlap.
	FindingOverlap FindingKind = "overlap"
	// FindingOpenEndedOverlap: open-ended IOVs followed by later starts,
	// one finding per list. This is how Nopayloaddb's bulk_piov loads
	// every list (each IOV runs to MAX and holds until the next starts),
	// so it is informational: it does not fail the check.
	FindingOpenEndedOverlap FindingKind = "open_ended_overlap"
	// FindingZeroLength: an IOV whose end equals its start (continuous
	// mode), which holds at no point.
	FindingZeroLength FindingKind = "zero_length"
	// FindingInverted: an IOV whose end is before its start (points
	// compare lexicographically), in either mode.
	FindingInverted FindingKind = "inverted"
	// FindingNullCombIOV: an attached IOV with a NULL comb_iov, invisible
	// to lookups.
	FindingNullCombIOV FindingKind = "null_comb_iov"
	// FindingCombIOVMismatch: comb_iov does not equal major + minor/10^19,
	// so lookups place the IOV elsewhere than its start says.
	FindingCombIOVMismatch FindingKind = "comb_iov_mismatch"
	// FindingDuplicateType: a GT has two lists of one payload type
	// attached; lookups then answer that type twice.
	FindingDuplicateType FindingKind = "duplicate_type"
)

// Informational reports whether findings of kind k describe a normal,
// expected state worth knowing about rather than a problem: they are
// reported but do not fail the check.
func (k FindingKind) Informational() bool { return k == FindingOpenEndedOverlap }

// MaxFindingIDs bounds the ids a summarising finding lists.
const MaxFindingIDs = 20

// Finding is one such state, located by GT, type and list, with the ids of
// the IOVs (or lists, for FindingDuplicateType) involved.
type Finding struct {
	Kind        FindingKind
	GlobalTag   string
	PayloadType string
	// PayloadList is the list's name; "" for FindingDuplicateType, which
	// is about several lists.
	PayloadList string
	// IDs: the IOVs starting together (FindingDuplicateStart) or the lists
	// of one type (FindingDuplicateType), ascending; for FindingOverlap
	// the IOV and the later one it overlaps; else the one IOV.
	IDs []int64
	// Detail says what is wrong and what lookups make of it, for people.
	Detail string
}

// Checker finds the states of FindingKind. Implemented by sql.Reader.
type Checker interface {
	// Check examines the lists attached to the GT named globalTag, or to
	// every GT when it is "", and returns the findings in SortFindings
	// order. An unknown GT is ENotFound.
	Check(ctx context.Context, globalTag string) ([]Finding, error)
}
