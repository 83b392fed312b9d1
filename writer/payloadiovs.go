package writer

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/auth"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// createPayloadIOV: POST piov (docs/compatibility.md "Payload IOVs") creates a detached IOV. As in
// the reference, the permission check (role createpayload on the
// payload_url) comes first, then the range check, then the other field
// errors.
func (s *Server) createPayloadIOV(c *call) error {
	o, err := drf.ReadObject(c.req)
	if err != nil {
		return err
	}
	if url, ok := o.PeekString("payload_url", textRule.Trim); ok {
		if err := s.permit(c, auth.RoleCreatePayload, url); err != nil {
			return err
		}
	}
	url, _ := o.String("payload_url", textRule)
	checksum, _ := o.String("checksum", textRule)
	size := decodeSize(o)
	start, end, ok := decodeIOV(o)
	if ok {
		if err := s.cfg.IOVMode.CheckMinors(start, end); err != nil {
			return err
		}
	}
	if rawURL, known := o.PeekString("payload_url", false); ok && known && !s.cfg.IOVMode.ValidRange(start, end) {
		return errInvalidRange(rawURL, start, end)
	}
	if err := o.Err(); err != nil {
		return err
	}
	iov, err := s.svc.CreatePayloadIOV(c.ctx, condcache.NewPayloadIOV{
		PayloadURL: url, Checksum: checksum, Size: size, Start: start, End: end,
	})
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.NewPIOV(iov))
	return nil
}

// bulkCreated is the answer of bulk_piov (docs/compatibility.md "bulk_piov answer").
type bulkCreated struct {
	Created int64 `json:"created"`
}

// bulkCreatePayloadIOVs: POST bulk_piov (docs/compatibility.md "Bulk create", docs/compatibility.md "bulk_piov answer"), a JSON array of IOVs attached to the lists they name. No permission
// check, as in the reference. The first bad element rejects the whole
// batch with 400 naming its index; nothing is written.
func (s *Server) bulkCreatePayloadIOVs(c *call) error {
	body, err := drf.ReadJSON(c.req)
	if err != nil {
		return err
	}
	var elems [][]byte
	if err := drf.EachElement(body, func(_ int, elem []byte) error {
		elems = append(elems, elem)
		return nil
	}); err != nil {
		return err
	}
	iovs, err := s.decodeBulkElements(elems)
	if err != nil {
		return err
	}
	n, err := s.svc.BulkCreatePayloadIOVs(c.ctx, iovs)
	if err != nil {
		var e *condcache.Error
		if errors.As(err, &e) && e.Code == condcache.ENotFound {
			// The list an element names is part of the body, not the URL:
			// a missing one is bad input (400), not a missing resource.
			return &condcache.Error{Code: condcache.EInvalid, Detail: e.Detail, Fields: e.Fields}
		}
		return err
	}
	api.WriteOK(c.req, bulkCreated{Created: n})
	return nil
}

// parallelBulkElements is the size of a bulk body from which its elements
// are decoded on every core.
const parallelBulkElements = 2048

// decodeBulkElements decodes a bulk body's elements, in contiguous chunks
// on every core for a large body (the database waits for the whole body,
// so the decoding is all the writer does meanwhile; about 10 µs per
// element). The error is the one of the lowest element index, as when
// decoding one after the other: a chunk stops at its first bad element,
// and a lower chunk's error has the lower index.
func (s *Server) decodeBulkElements(elems [][]byte) ([]condcache.BulkPayloadIOV, error) {
	iovs := make([]condcache.BulkPayloadIOV, len(elems))
	workers := 1
	if len(elems) >= parallelBulkElements {
		workers = runtime.GOMAXPROCS(0)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w * len(elems) / workers; i < (w+1)*len(elems)/workers; i++ {
				v, err := s.decodeBulkElement(elems[i])
				if err != nil {
					errs[w] = elementError(i, err)
					return
				}
				iovs[i] = v
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return iovs, nil
}

// decodeBulkElement decodes one bulk element: payload_url, payload_list,
// major_iov and minor_iov are required; checksum (default ""), size and the
// ends (default MAX each) are optional. Values are used as sent, without
// trimming, as the reference's bulk insert does.
func (s *Server) decodeBulkElement(elem []byte) (condcache.BulkPayloadIOV, error) {
	var v condcache.BulkPayloadIOV
	o, err := drf.ParseObject(elem)
	if err != nil {
		return v, err
	}
	v.PayloadURL, _ = o.String("payload_url", drf.StringRule{MaxLen: condcache.MaxTextLen})
	if cs := o.NullableString("checksum", drf.StringRule{Blank: true, MaxLen: condcache.MaxTextLen}); cs != nil {
		v.Checksum = *cs
	}
	v.Size = decodeSize(o)
	v.PayloadList, _ = o.String("payload_list", refRule)
	var ok bool
	v.Start, v.End, ok = decodeIOV(o)
	if ok {
		if err := s.cfg.IOVMode.CheckMinors(v.Start, v.End); err != nil {
			return v, err
		}
	}
	if ok && !s.cfg.IOVMode.ValidRange(v.Start, v.End) {
		return v, errInvalidRange(v.PayloadURL, v.Start, v.End)
	}
	return v, o.Err()
}

// elementError prefixes err's detail with the index of the bad element.
func elementError(i int, err error) error {
	var e *condcache.Error
	if !errors.As(err, &e) {
		return err
	}
	return &condcache.Error{Code: e.Code, Detail: fmt.Sprintf("element %d: %s", i, e.Detail), Fields: e.Fields}
}

// attachPayloadIOV: PUT piov_attach {"payload_list", "piov_id"} (docs/compatibility.md "Attach an IOV"); piov_id may be a numeric string, as in the reference. The
// permission (role createiov on the name of the list's GT, "" when the list
// is detached) is checked by the service through authorize, inside its
// transaction, once it knows the GT.
func (s *Server) attachPayloadIOV(c *call) error {
	o, err := drf.ReadObject(c.req)
	if err != nil {
		return err
	}
	list, _ := o.String("payload_list", refRule)
	id, _ := o.Int("piov_id", drf.IntRule{NumericString: true})
	if err := o.Err(); err != nil {
		// The reference reads payload_list, then piov_id, itself.
		return withReferenceDetail(o, err, refKey{"payload_list", "PayloadList not found."}, refKey{"piov_id", "PayloadIOV not found."})
	}
	authorize := func(globalTag string) error {
		return s.permit(c, auth.RoleCreateIOV, globalTag)
	}
	iov, err := s.svc.AttachPayloadIOV(c.ctx, list, id, authorize)
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.NewPIOV(iov))
	return nil
}

// deletePayloadIOV: DELETE deletePayloadIOV/<gt>/<pt>/<M>/<m>[/<Me>/<me>]
// (docs/compatibility.md "Delete an IOV"). The 4-number form deletes the open-ended IOV (end
// (MAX, MAX)). Negative numbers are accepted (docs/compatibility.md "Delete an IOV").
func (s *Server) deletePayloadIOV(c *call) error {
	gt, pt := c.param("gt"), c.param("pt")
	if err := s.permit(c, auth.RoleAdmin, gt); err != nil {
		return err
	}
	var errs drf.FieldErrors
	start := condcache.Point{
		Major: pathInt(c, "major", "major_iov", &errs),
		Minor: pathInt(c, "minor", "minor_iov", &errs),
	}
	end := condcache.OpenEnd
	if c.req.UserValue("major_end") != nil {
		end = condcache.Point{
			Major: pathInt(c, "major_end", "major_iov_end", &errs),
			Minor: pathInt(c, "minor_end", "minor_iov_end", &errs),
		}
	}
	if err := errs.Err(); err != nil {
		return err
	}
	iov, err := s.svc.DeletePayloadIOV(c.ctx, gt, pt, start, end)
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.Detail{Detail: "PayloadIOV " + iov.PayloadURL + " deleted."})
	return nil
}
