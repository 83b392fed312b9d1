package sql

// Internals the external tests (package sql_test) look at.

// LookupStatement is the exact statement Reader.Lookup runs; $1 is the GT
// name, $2 the point's comb_iov text.
const LookupStatement = lookupSQL
