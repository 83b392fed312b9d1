package writer

import (
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/auth"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// createPayloadList: POST pl {"payload_type"} (docs/compatibility.md "Payload lists"), a type name;
// every other key is ignored. No permission check.
func (s *Server) createPayloadList(c *call) error {
	o, err := drf.ReadObject(c.req)
	if err != nil {
		return err
	}
	pt, _ := o.String("payload_type", refRule)
	if err := o.Err(); err != nil {
		return err
	}
	l, err := s.svc.CreatePayloadList(c.ctx, pt)
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.NewPLWriteByName(l))
	return nil
}

// attachPayloadList: PUT pl_attach {"global_tag", "payload_list"} (docs/compatibility.md "Payload lists"). The permission check on the GT name comes first.
func (s *Server) attachPayloadList(c *call) error {
	o, err := drf.ReadObject(c.req)
	if err != nil {
		return err
	}
	if gt, ok := o.PeekString("global_tag", refRule.Trim); ok {
		if err := s.permit(c, auth.RoleAdmin, gt); err != nil {
			return err
		}
	}
	gt, _ := o.String("global_tag", refRule)
	list, _ := o.String("payload_list", refRule)
	if err := o.Err(); err != nil {
		// The reference reads global_tag (for its permission check), then
		// payload_list, itself.
		return withReferenceDetail(o, err, refKey{"global_tag", ""}, refKey{"payload_list", "PayloadList not found."})
	}
	l, err := s.svc.AttachPayloadList(c.ctx, gt, list)
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.NewPLWriteByName(l))
	return nil
}

// deletePayloadList: DELETE deletePayloadList/<name> (docs/compatibility.md "Payload lists"). No
// permission check. The answer says "Payload Type" (sic, docs/compatibility.md "Quirks kept").
func (s *Server) deletePayloadList(c *call) error {
	name := c.param("name")
	if err := s.svc.DeletePayloadList(c.ctx, name); err != nil {
		return err
	}
	api.WriteOK(c.req, wire.Detail{Detail: "Payload Type " + name + " deleted."})
	return nil
}
