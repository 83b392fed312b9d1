package writer

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/auth"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/markdown"
	"github.com/condcache/condcache/internal/wire"
)

// Bounds of a notice (docs/design.md "Notices").
const (
	maxNoticeDescription = 100_000 // bytes of markdown
	maxNoticeVersion     = 255
	maxNoticeLinks       = 1000 // per kind of object
)

// noticeEndpoints are the v2 writes of notices (docs/design.md "Notices").
func (s *Server) noticeEndpoints() []v2Route {
	return []v2Route{
		{"v2.CreateNotice", fasthttp.MethodPost, "notices", s.createNotice},
		{"v2.ReplaceNotice", fasthttp.MethodPut, "notices/{id}", s.replaceNotice},
		{"v2.DeleteNotice", fasthttp.MethodDelete, "notices/{id}", s.deleteNotice},
	}
}

// noticeBody is the body of a notice creation or replacement.
type noticeBody struct {
	Description     *string         `json:"description"`
	Importance      json.RawMessage `json:"importance"`
	VersionAffected *string         `json:"version_affected"`
	Runs            *struct {
		From *pointBody `json:"from"`
		To   *pointBody `json:"to"`
	} `json:"runs"`
	Dates *struct {
		From *string `json:"from"`
		To   *string `json:"to"`
	} `json:"dates"`
	GlobalTags   []string `json:"global_tags"`
	PayloadTypes []string `json:"payload_types"`
	PayloadLists []string `json:"payload_lists"`
	IOVs         []int64  `json:"iovs"`
}

// pointBody is a point {"major", "minor"}; minor may be left out.
type pointBody struct {
	Major *int64 `json:"major"`
	Minor *int64 `json:"minor"`
}

// point reads p; a missing minor is defaultMinor (0 for a start, the end
// of the run for an end).
func (p *pointBody) point(field string, defaultMinor int64) (condcache.Point, error) {
	if p == nil || p.Major == nil {
		return condcache.Point{}, condcache.FieldError(condcache.EInvalid, field, "Must be a point {\"major\": R, \"minor\": m}.")
	}
	out := condcache.Point{Major: *p.Major, Minor: defaultMinor}
	if p.Minor != nil {
		out.Minor = *p.Minor
	}
	return out, nil
}

// readNotice reads and checks a notice body; the author is the caller.
func (s *Server) readNotice(c *call) (condcache.NewNotice, error) {
	var b noticeBody
	var n condcache.NewNotice
	if err := decodeV2Body(c, &b); err != nil {
		return n, err
	}
	if b.Description == nil || strings.TrimSpace(*b.Description) == "" {
		return n, condcache.FieldError(condcache.EInvalid, "description", drf.MsgRequired)
	}
	if len(*b.Description) > maxNoticeDescription {
		return n, condcache.FieldError(condcache.EInvalid, "description", "At most "+strconv.Itoa(maxNoticeDescription)+" bytes of markdown.")
	}
	if err := drf.CheckText("description", *b.Description); err != nil {
		return n, err
	}
	if problem := markdown.Problem(*b.Description); problem != "" {
		return n, condcache.FieldError(condcache.EInvalid, "description", "The markdown holds "+problem+".")
	}
	n.Description = *b.Description
	n.DescriptionHTML = markdown.HTML(n.Description)
	var err error
	if n.Importance, err = readImportance(b.Importance); err != nil {
		return n, err
	}
	if v := b.VersionAffected; v != nil {
		if len(*v) > maxNoticeVersion {
			return n, condcache.FieldError(condcache.EInvalid, "version_affected", drf.MsgMaxLength(maxNoticeVersion))
		}
		if err := drf.CheckText("version_affected", *v); err != nil {
			return n, err
		}
		n.VersionAffected = v
	}
	if r := b.Runs; r != nil {
		from, err := r.From.point("runs.from", 0)
		if err != nil {
			return n, err
		}
		to, err := r.To.point("runs.to", condcache.MaxIOV)
		if err != nil {
			return n, err
		}
		if to.Less(from) {
			return n, condcache.FieldError(condcache.EInvalid, "runs", "The end (to) must not be before the start (from).")
		}
		n.Runs = &condcache.PointRange{From: from, To: to}
	}
	if d := b.Dates; d != nil {
		var dr condcache.TimeRange
		if dr.From, err = readTime("dates.from", d.From); err != nil {
			return n, err
		}
		if dr.To, err = readTime("dates.to", d.To); err != nil {
			return n, err
		}
		if !dr.From.IsZero() && !dr.To.IsZero() && dr.To.Before(dr.From) {
			return n, condcache.FieldError(condcache.EInvalid, "dates", "The end (to) must not be before the start (from).")
		}
		if !dr.From.IsZero() || !dr.To.IsZero() {
			n.Dates = &dr
		}
	}
	for _, l := range []struct {
		field string
		in    []string
		out   *[]string
	}{{"global_tags", b.GlobalTags, &n.GlobalTags}, {"payload_types", b.PayloadTypes, &n.PayloadTypes}, {"payload_lists", b.PayloadLists, &n.PayloadLists}} {
		if *l.out, err = distinctNames(l.field, l.in); err != nil {
			return n, err
		}
	}
	n.IOVs = distinct(b.IOVs)
	if len(n.IOVs) > maxNoticeLinks {
		return n, condcache.FieldError(condcache.EInvalid, "iovs", "At most "+strconv.Itoa(maxNoticeLinks)+" IOVs.")
	}
	if len(n.GlobalTags)+len(n.PayloadTypes)+len(n.PayloadLists)+len(n.IOVs) == 0 {
		return n, condcache.Errorf(condcache.EInvalid,
			"A notice must be attached to at least one of global_tags, payload_types, payload_lists or iovs.")
	}
	n.Author = noticeAuthor(c)
	return n, nil
}

// readImportance reads a level by name ("CRITICAL") or number (50).
func readImportance(raw json.RawMessage) (condcache.Importance, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, condcache.FieldError(condcache.EInvalid, "importance", drf.MsgRequired)
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		name = string(raw) // a number, or anything else ParseImportance refuses
	}
	return condcache.ParseImportance(name)
}

func readTime(field string, v *string) (time.Time, error) {
	if v == nil {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *v)
	if err != nil {
		return t, condcache.FieldError(condcache.EInvalid, field, "Must be an RFC 3339 time, e.g. 2026-05-01T00:00:00Z.")
	}
	return t, nil
}

// distinctNames checks names and drops repeats.
func distinctNames(field string, names []string) ([]string, error) {
	out := distinct(names)
	if len(out) > maxNoticeLinks {
		return nil, condcache.FieldError(condcache.EInvalid, field, "At most "+strconv.Itoa(maxNoticeLinks)+" names.")
	}
	for _, n := range out {
		if n == "" {
			return nil, condcache.FieldError(condcache.EInvalid, field, "Names must not be empty.")
		}
		if err := drf.CheckText(field, n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func distinct[T comparable](in []T) []T {
	var out []T
	seen := map[T]bool{}
	for _, v := range in {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// noticeAuthor is the JWT subject, else the client identity the audit
// trail records.
func noticeAuthor(c *call) string {
	if sub, ok := c.claims["sub"].(string); ok && sub != "" {
		return clean(sub)
	}
	meta, _ := condcache.WriteMetaFrom(c.ctx)
	return meta.Actor
}

// permitNotice checks the permission to write notice id (0: a new one)
// as n (nil: a deletion), docs/design.md "Notices": createiov on every GT
// the notice concerns before and after, directly or through a list or an
// IOV; admin on every GT (the empty name) for a notice on a payload type,
// or one that concerns no GT yet.
func (s *Server) permitNotice(c *call, id int64, n *condcache.NewNotice) error {
	if s.cfg.Notices == nil {
		return condcache.Errorf(condcache.ENotFound, "Notices are not available on this server.")
	}
	gts, anyType, err := s.cfg.Notices.NoticeScope(c.ctx, id, n)
	if err != nil {
		return err
	}
	if anyType || len(gts) == 0 {
		if err := s.permit(c, auth.RoleAdmin, ""); err != nil {
			return err
		}
	}
	for _, g := range gts {
		if err := s.permit(c, auth.RoleCreateIOV, g); err != nil {
			return err
		}
	}
	return nil
}

// noticeID reads the id path parameter; anything but an id is 404.
func noticeID(c *call) (int64, error) {
	id, err := strconv.ParseInt(c.param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, condcache.Errorf(condcache.ENotFound, "Notice %s not found.", strconv.Quote(c.param("id")))
	}
	return id, nil
}

// createNotice: POST /api/v2/notices, the created notice (201).
func (s *Server) createNotice(c *call) error {
	if s.cfg.Notices == nil {
		return condcache.Errorf(condcache.ENotFound, "Notices are not available on this server.")
	}
	n, err := s.readNotice(c)
	if err != nil {
		return err
	}
	if err := s.permitNotice(c, 0, &n); err != nil {
		return err
	}
	out, err := s.cfg.Notices.CreateNotice(c.ctx, n)
	if err != nil {
		return err
	}
	api.WriteJSON(c.req, fasthttp.StatusCreated, wire.Marshal(wire.NewV2Notice(out)))
	return nil
}

// replaceNotice: PUT /api/v2/notices/{id}, every field and link replaced;
// the author and creation time stay.
func (s *Server) replaceNotice(c *call) error {
	if s.cfg.Notices == nil {
		return condcache.Errorf(condcache.ENotFound, "Notices are not available on this server.")
	}
	id, err := noticeID(c)
	if err != nil {
		return err
	}
	n, err := s.readNotice(c)
	if err != nil {
		return err
	}
	if err := s.permitNotice(c, id, &n); err != nil {
		return err
	}
	out, err := s.cfg.Notices.ReplaceNotice(c.ctx, id, n)
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.NewV2Notice(out))
	return nil
}

// deleteNotice: DELETE /api/v2/notices/{id}, the notice as it was.
func (s *Server) deleteNotice(c *call) error {
	id, err := noticeID(c)
	if err != nil {
		return err
	}
	if err := s.permitNotice(c, id, nil); err != nil {
		return err
	}
	out, err := s.cfg.Notices.DeleteNotice(c.ctx, id)
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.NewV2Notice(out))
	return nil
}
