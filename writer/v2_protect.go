package writer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/auth"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// Protection (docs/design.md "Protection"): marking GTs, lists and IOVs
// protected, and the deletes beyond the compatible API that the guard of
// every delete applies to. force=1 on any write (forceParam, read by
// handle) lets its deletes remove protected objects, each after the admin
// permission on its mark's GT.

// Route names of the protection writes (the audit trail's endpoints).
const (
	routeProtect          = "v2.Protect"
	routeDeletePayloadIOV = "v2.DeletePayloadIOVs"
	routeCloneGlobalTag   = "v2.CloneGlobalTag"
)

// maxProtectObjects bounds the objects one PUT protect names;
// maxElementErrors the bad elements of a list one answer reports.
const (
	maxProtectObjects = 100_000
	maxElementErrors  = 10
)

// protectionEndpoints are the v2 writes of protection of GTs, lists and IOVs (docs/design.md "Protection").
func (s *Server) protectionEndpoints() []v2Route {
	return []v2Route{
		{routeProtect, fasthttp.MethodPut, "protect", s.protect},
		{routeDeletePayloadIOV, fasthttp.MethodPost, "iovs/delete", s.deletePayloadIOVs},
		{routeCloneGlobalTag, fasthttp.MethodPost, "gt/{src}/clone/{dst}", s.cloneGlobalTagV2},
	}
}

// protection returns the service's protection writes, or an error when
// this writer's service has none.
func (s *Server) protection() (condcache.ProtectionService, error) {
	if p, ok := s.svc.(condcache.ProtectionService); ok {
		return p, nil
	}
	return nil, condcache.Errorf(condcache.ENotFound, "Protection is not available on this server.")
}

// adminOn returns the authorize function of the protection writes: role
// admin on each GT concerned ("" for detached objects).
func (s *Server) adminOn(c *call) func(globalTag string) error {
	return func(gt string) error { return s.permit(c, auth.RoleAdmin, gt) }
}

// forceParam reads the force query parameter of any write: 1 or true lets
// its deletes remove protected objects; 0, false or no parameter does not.
func forceParam(ctx *fasthttp.RequestCtx) (bool, error) {
	return flagParam(ctx, "force")
}

// flagParam reads a flag query parameter: 1 or true, 0 or false; absent is
// false, anything else 400.
func flagParam(ctx *fasthttp.RequestCtx, name string) (bool, error) {
	v, ok := drf.LastQueryArg(ctx.QueryArgs(), name)
	if !ok {
		return false, nil
	}
	switch string(v) {
	case "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return false, condcache.FieldError(condcache.EInvalid, name, "Must be 1 (or true), or 0 (or false).")
}

// protect: PUT /api/v2/protect {"global_tags": [names], "payload_lists":
// [names], "iovs": [ids], "protected": true|false, "note": "why"}: marks or
// unmarks every object named, all or nothing, with the admin permission on
// the GT of each ("" when detached). 200 → the objects as they are
// afterwards.
func (s *Server) protect(c *call) error {
	ps, err := s.protection()
	if err != nil {
		return err
	}
	r, err := readProtectBody(c.req)
	if err != nil {
		return err
	}
	out, err := ps.Protect(c.ctx, r, s.adminOn(c))
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.V2ProtectAnswer{Protected: r.Protected, Objects: wire.NewV2Protections(out)})
	return nil
}

// deletePayloadIOVs: POST /api/v2/iovs/delete {"ids": [ids]}: deletes
// every IOV named, all or nothing, with the admin permission on each IOV's
// GT ("" when detached). 200 → {"deleted": n}.
func (s *Server) deletePayloadIOVs(c *call) error {
	ps, err := s.protection()
	if err != nil {
		return err
	}
	fields, err := readFields(c.req, "ids")
	if err != nil {
		return err
	}
	var errs drf.FieldErrors
	raw, ok := fields["ids"]
	if !ok {
		errs.Add("ids", drf.MsgRequired)
		return errs.Err()
	}
	ids := intList(&errs, "ids", raw)
	if err := errs.Err(); err != nil {
		return err
	}
	n, err := ps.DeletePayloadIOVs(c.ctx, ids, s.adminOn(c))
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.V2Deleted{Deleted: n})
	return nil
}

// cloneGlobalTagV2: POST /api/v2/gt/{src}/clone/{dst}[?replace=1]: the
// compatible clone (docs/compatibility.md "Clone"), or with replace=1 one
// that first deletes an existing dst with DeleteGlobalTag's rules and
// protection, in the same transaction. Permission: role admin on dst.
// 200 → the GTSummary of the clone.
func (s *Server) cloneGlobalTagV2(c *call) error {
	src, err := drf.TextParam(c.req, "src")
	if err != nil {
		return err
	}
	dst, err := drf.TextParam(c.req, "dst")
	if err != nil {
		return err
	}
	replace, err := flagParam(c.req, "replace")
	if err != nil {
		return err
	}
	if err := s.permit(c, auth.RoleAdmin, dst); err != nil {
		return err
	}
	var g condcache.GlobalTagSummary
	if replace {
		ps, perr := s.protection()
		if perr != nil {
			return perr
		}
		g, err = ps.CloneGlobalTagReplacing(c.ctx, src, dst)
	} else {
		g, err = s.svc.CloneGlobalTag(c.ctx, src, dst)
	}
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.NewGTSummary(g))
	return nil
}

// readFields reads a JSON object body whose keys must be among known; an
// unknown key is a field error (a typo must not pass for an absent field).
func readFields(ctx *fasthttp.RequestCtx, known ...string) (map[string]json.RawMessage, error) {
	body, err := drf.ReadJSON(ctx)
	if err != nil {
		return nil, err
	}
	if body == nil {
		return nil, drf.NonFieldError(drf.MsgNoData)
	}
	if _, err := drf.ParseObject(body); err != nil {
		return nil, err // not an object
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, drf.NonFieldError(err.Error())
	}
	var errs drf.FieldErrors
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if !slices.Contains(known, k) {
			errs.Add(k, "Unknown field; the fields are "+strings.Join(known, ", ")+".")
		}
	}
	return fields, errs.Err()
}

// readProtectBody decodes and checks PUT protect's body.
func readProtectBody(ctx *fasthttp.RequestCtx) (condcache.ProtectRequest, error) {
	var r condcache.ProtectRequest
	fields, err := readFields(ctx, "global_tags", "payload_lists", "iovs", "protected", "note")
	if err != nil {
		return r, err
	}
	var errs drf.FieldErrors
	if raw, ok := fields["global_tags"]; ok {
		r.GlobalTags = nameList(&errs, "global_tags", raw)
	}
	if raw, ok := fields["payload_lists"]; ok {
		r.PayloadLists = nameList(&errs, "payload_lists", raw)
	}
	if raw, ok := fields["iovs"]; ok {
		r.IOVs = intList(&errs, "iovs", raw)
	}
	switch raw, ok := fields["protected"]; {
	case !ok:
		errs.Add("protected", drf.MsgRequired)
	case bytes.Equal(bytes.TrimSpace(raw), []byte("true")):
		r.Protected = true
	case bytes.Equal(bytes.TrimSpace(raw), []byte("false")):
	default:
		errs.Add("protected", "Must be true or false.")
	}
	if raw, ok := fields["note"]; ok {
		if drf.PythonType(raw) != "str" || json.Unmarshal(raw, &r.Note) != nil {
			errs.Add("note", drf.MsgNotString)
		} else if strings.IndexByte(r.Note, 0) >= 0 {
			errs.Add("note", drf.MsgNullCharacter)
		} else if utf8.RuneCountInString(r.Note) > condcache.MaxProtectNote {
			errs.Add("note", drf.MsgMaxLength(condcache.MaxProtectNote))
		}
	}
	if err := errs.Err(); err != nil {
		return r, err
	}
	switch n := r.Len(); {
	case n == 0:
		return r, condcache.Errorf(condcache.EInvalid, "Name at least one object: global_tags, payload_lists or iovs.")
	case n > maxProtectObjects:
		return r, condcache.Errorf(condcache.EInvalid, "Name at most %d objects in one request.", maxProtectObjects)
	}
	return r, nil
}

// nameList decodes a JSON array of names (non-blank strings without NUL).
func nameList(errs *drf.FieldErrors, field string, raw json.RawMessage) []string {
	var elems []json.RawMessage
	if drf.PythonType(raw) != "list" || json.Unmarshal(raw, &elems) != nil {
		errs.Add(field, `Expected a list of names.`)
		return nil
	}
	out := make([]string, 0, len(elems))
	for i, e := range elems {
		if len(out) < i-maxElementErrors {
			break // enough said
		}
		var s string
		switch {
		case drf.PythonType(e) != "str" || json.Unmarshal(e, &s) != nil:
			errs.Add(field, fmt.Sprintf("Element %d: %s", i, drf.MsgNotString))
		case s == "":
			errs.Add(field, fmt.Sprintf("Element %d: %s", i, drf.MsgBlank))
		case strings.IndexByte(s, 0) >= 0:
			errs.Add(field, fmt.Sprintf("Element %d: %s", i, drf.MsgNullCharacter))
		default:
			out = append(out, s)
		}
	}
	return out
}

// intList decodes a JSON array of integer ids.
func intList(errs *drf.FieldErrors, field string, raw json.RawMessage) []int64 {
	var elems []json.RawMessage
	if drf.PythonType(raw) != "list" || json.Unmarshal(raw, &elems) != nil {
		errs.Add(field, `Expected a list of integer ids.`)
		return nil
	}
	out := make([]int64, 0, len(elems))
	for i, e := range elems {
		if len(out) < i-maxElementErrors {
			break // enough said
		}
		t := drf.PythonType(e)
		v, err := drf.ParseJSONInt(bytes.TrimSpace(e))
		if (t != "int" && t != "float") || err != nil {
			errs.Add(field, fmt.Sprintf("Element %d: %s", i, drf.MsgNotInteger))
			continue
		}
		out = append(out, v)
	}
	return out
}
