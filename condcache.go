// Package condcache holds the domain of the condcache conditions database:
// global tags, payload types, payload lists and payload IOVs, the IOV point
// arithmetic and ordering, the attach algorithm as pure functions, the
// application error codes, and the service interfaces that the storage layer
// (package sql) implements and the HTTP layers (packages reader and writer)
// consume. It imports no HTTP or storage library.
package condcache
