package writer

import (
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// createPayloadType: POST pt {"name"} (docs/compatibility.md "Payload types"). No permission check;
// description is ignored.
func (s *Server) createPayloadType(c *call) error {
	o, err := drf.ReadObject(c.req)
	if err != nil {
		return err
	}
	name, _ := o.String("name", nameRule)
	if err := o.Err(); err != nil {
		return err
	}
	pt, err := s.svc.CreatePayloadType(c.ctx, name)
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.NewPT(pt))
	return nil
}

// deletePayloadType: DELETE deletePayloadType/<name> (docs/compatibility.md "Payload types"). No
// permission check.
func (s *Server) deletePayloadType(c *call) error {
	name := c.param("name")
	if err := s.svc.DeletePayloadType(c.ctx, name); err != nil {
		return err
	}
	api.WriteOK(c.req, wire.Detail{Detail: "Payload Type " + name + " deleted."})
	return nil
}
