package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/condcache/condcache"
)

// Exporter writes export files of the GTs that Source reads
// (condcache.Exporter).
type Exporter struct {
	Source condcache.ExportSource
}

var _ condcache.Exporter = (*Exporter)(nil)

// Export writes GT name, over r, into a new SQLite file at path (which must
// not exist), in one transaction: on error the file is removed.
func (e *Exporter) Export(ctx context.Context, name string, r condcache.ExportRange, path string, meta condcache.ExportMeta) (info condcache.ExportInfo, err error) {
	if meta.Time.IsZero() {
		meta.Time = time.Now()
	}
	if meta.IOVMode == "" {
		meta.IOVMode = condcache.ModeContinuous
	}
	if _, err := os.Lstat(path); err == nil {
		return info, fmt.Errorf("sqlite: export: %s exists", path)
	}
	// The file is written once and thrown away on failure: no journal.
	db, err := open(path, url.Values{"_pragma": {"journal_mode(OFF)", "synchronous(OFF)", "foreign_keys(OFF)"}})
	if err != nil {
		return info, err
	}
	defer func() {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	conn, err := db.Conn(ctx)
	if err != nil {
		return info, err
	}
	defer conn.Close()
	s := &sink{ctx: ctx, conn: conn, rng: r, meta: meta}
	defer s.rollback()
	if err := e.Source.ExportGlobalTag(ctx, name, r, meta.MaxIOVs, s); err != nil {
		return info, err
	}
	if s.tx == nil {
		return info, errors.New("sqlite: export: the source sent nothing")
	}
	if err := s.finish(); err != nil {
		return info, err
	}
	if err := s.tx.Commit(); err != nil {
		return info, err
	}
	s.tx = nil
	if err := conn.Close(); err != nil {
		return info, err
	}
	if err := db.Close(); err != nil {
		return info, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return info, err
	}
	s.info.Size = st.Size()
	return s.info, nil
}

// sink is the condcache.ExportSink of one export: every row goes into one
// transaction, started again from nothing on Begin.
type sink struct {
	ctx  context.Context
	conn *sql.Conn
	rng  condcache.ExportRange
	meta condcache.ExportMeta

	tx      *sql.Tx
	insIOV  *sql.Stmt
	insNext *sql.Stmt
	header  condcache.ExportHeader
	info    condcache.ExportInfo

	// The range digest, one type after another in name order: the lists
	// of a type come together, by id, and the type's answers are those of
	// its highest list holding an IOV that lookups see (as a range read
	// picks it).
	digest   *condcache.RangeDigest
	typ      string
	typeIOVs []condcache.PayloadIOV
}

func (s *sink) rollback() {
	if s.tx != nil {
		_ = s.tx.Rollback()
		s.tx = nil
	}
}

// Begin implements condcache.ExportSink.
func (s *sink) Begin(h condcache.ExportHeader) error {
	s.rollback()
	tx, err := s.conn.BeginTx(s.ctx, nil)
	if err != nil {
		return err
	}
	s.tx, s.header = tx, h
	s.digest, s.typ, s.typeIOVs = condcache.NewRangeDigest(), "", nil
	s.info = condcache.ExportInfo{GlobalTag: h.GlobalTag.Name, Status: h.GlobalTag.Status.Name, Generation: h.Generation,
		IOVs: h.IOVs, Lists: len(h.Lists)}
	if _, err := tx.ExecContext(s.ctx, schema); err != nil {
		return err
	}
	for _, st := range h.Statuses {
		if _, err := tx.ExecContext(s.ctx, `INSERT INTO "GlobalTagStatus" (id, name, description, created) VALUES (?, ?, ?, ?)`,
			st.ID, st.Name, st.Description, formatTime(st.Created)); err != nil {
			return err
		}
	}
	g := h.GlobalTag
	if _, err := tx.ExecContext(s.ctx, `INSERT INTO "GlobalTag" (id, name, author, description, created, updated, status_id) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.Name, g.Author, g.Description, formatTime(g.Created), formatTime(g.Updated), g.Status.ID); err != nil {
		return err
	}
	for _, t := range h.Types {
		if _, err := tx.ExecContext(s.ctx, `INSERT INTO "PayloadType" (id, name, description, created) VALUES (?, ?, ?, ?)`,
			t.ID, t.Name, t.Description, formatTime(t.Created)); err != nil {
			return err
		}
	}
	for _, l := range h.Lists {
		if _, err := tx.ExecContext(s.ctx, `INSERT INTO "PayloadList" (id, name, description, created, updated, global_tag_id, payload_type_id) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			l.ID, l.Name, l.Description, formatTime(l.Created), formatTime(l.Updated), l.GlobalTagID, l.PayloadTypeID); err != nil {
			return err
		}
	}
	if s.insIOV, err = tx.PrepareContext(s.ctx, `INSERT INTO "PayloadIOV" (id, payload_url, checksum, size, major_iov, minor_iov,
		major_iov_end, minor_iov_end, extra, created, updated, comb_iov, payload_list_id, comb_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
		return err
	}
	s.insNext, err = tx.PrepareContext(s.ctx, `INSERT INTO condcache_list_next (payload_list_id, major_iov, minor_iov, comb_iov, comb_key) VALUES (?, ?, ?, ?, ?)`)
	return err
}

// List implements condcache.ExportSink.
func (s *sink) List(l condcache.PayloadList, iovs []condcache.PayloadIOV, next *condcache.IOVStart) error {
	if s.tx == nil {
		return errors.New("sqlite: export: List before Begin")
	}
	for i := range iovs {
		x := &iovs[i]
		var key []byte
		if x.CombIOV != nil {
			k, err := condcache.ParseCombKey(*x.CombIOV)
			if err != nil {
				return err
			}
			key = k[:]
		}
		if _, err := s.insIOV.ExecContext(s.ctx, x.ID, x.PayloadURL, x.Checksum, x.Size, x.Start.Major, x.Start.Minor,
			x.End.Major, x.End.Minor, x.Extra, formatTime(x.Created), formatTime(x.Updated), x.CombIOV, l.ID, key); err != nil {
			return err
		}
	}
	if next != nil {
		k, err := condcache.ParseCombKey(next.CombIOV)
		if err != nil {
			return err
		}
		if _, err := s.insNext.ExecContext(s.ctx, l.ID, next.Start.Major, next.Start.Minor, next.CombIOV, k[:]); err != nil {
			return err
		}
	}
	if l.PayloadType != s.typ {
		s.digestType()
		s.typ = l.PayloadType
	}
	for _, x := range iovs {
		if x.CombIOV != nil {
			s.typeIOVs = iovs // a later list of the type with visible IOVs wins
			break
		}
	}
	return nil
}

// digestBounds is the range the digest covers: the export's, or every
// point for a whole export (as GET gt/{name}/digest without from and to).
func (s *sink) digestBounds() (condcache.Point, condcache.Point) {
	if s.rng.Whole {
		return condcache.Point{Major: math.MinInt64, Minor: math.MinInt64}, condcache.OpenEnd
	}
	return s.rng.From, s.rng.To
}

// digestType adds the answers of the type whose lists were just received.
func (s *sink) digestType() {
	if s.typeIOVs == nil {
		return
	}
	from, to := s.digestBounds()
	types, _ := condcache.ResolveRange(map[string][]condcache.PayloadIOV{s.typ: s.typeIOVs}, from, to,
		condcache.ResolveOptions{Mode: s.meta.IOVMode})
	for _, t := range types {
		for _, p := range t.Intervals {
			if p.Row != nil {
				s.digest.Add(condcache.TypedInterval{PayloadType: t.PayloadType,
					Interval: condcache.Interval{From: p.From, Until: p.Until, Row: *p.Row}})
			}
		}
	}
	s.typeIOVs = nil
}

// finish writes the metadata and builds the indexes.
func (s *sink) finish() error {
	s.digestType()
	s.info.Digest = s.digest.Sum()
	g := s.header.GlobalTag
	meta := [][2]string{
		{keyFormat, Format},
		{keySchemaVersion, strconv.Itoa(SchemaVersion)},
		{keyVersion, s.meta.Version},
		{keySource, s.meta.Source},
		{keyExportedAt, formatTime(s.meta.Time)},
		{keyGlobalTag, g.Name},
		{keyGlobalTagID, strconv.FormatInt(g.ID, 10)},
		{keyStatus, g.Status.Name},
		{keyGeneration, strconv.FormatInt(s.header.Generation, 10)},
		{keyDigest, s.info.Digest},
		{keyIOVMode, string(s.meta.IOVMode)},
		{keyIOVs, strconv.FormatInt(s.header.IOVs, 10)},
		{keyLists, strconv.Itoa(len(s.header.Lists))},
	}
	if !s.rng.Whole {
		meta = append(meta, [2]string{keyFrom, formatPoint(s.rng.From.Major, s.rng.From.Minor)},
			[2]string{keyTo, formatPoint(s.rng.To.Major, s.rng.To.Minor)})
	}
	for _, kv := range meta {
		if _, err := s.tx.ExecContext(s.ctx, `INSERT INTO condcache_export (key, value) VALUES (?, ?)`, kv[0], kv[1]); err != nil {
			return err
		}
	}
	_, err := s.tx.ExecContext(s.ctx, indexes)
	return err
}
