package writer

import (
	"github.com/condcache/condcache/internal/api"
	"github.com/condcache/condcache/internal/auth"
	"github.com/condcache/condcache/internal/drf"
	"github.com/condcache/condcache/internal/wire"
)

// permit checks role on the global tag name for the caller (docs/compatibility.md "Permission checks").
func (s *Server) permit(c *call, role, name string) error {
	return s.auth.Permit(c.claims, auth.ObjectGlobalTag, role, name)
}

// createGlobalTagStatus: POST gtstatus {"name"} (docs/compatibility.md "Statuses"). No
// permission check; description is ignored.
func (s *Server) createGlobalTagStatus(c *call) error {
	o, err := drf.ReadObject(c.req)
	if err != nil {
		return err
	}
	name, _ := o.String("name", nameRule)
	if err := o.Err(); err != nil {
		return err
	}
	st, err := s.svc.CreateGlobalTagStatus(c.ctx, name)
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.NewStatus(st))
	return nil
}

// createGlobalTag: POST gt {"name", "status" (a status name), "author"?}
// (docs/compatibility.md "Create global tag"). The permission check on the name comes first, as in the
// reference, whenever the name is a string at all.
func (s *Server) createGlobalTag(c *call) error {
	o, err := drf.ReadObject(c.req)
	if err != nil {
		return err
	}
	if name, ok := o.PeekString("name", nameRule.Trim); ok {
		if err := s.permit(c, auth.RoleAdmin, name); err != nil {
			return err
		}
	}
	name, _ := o.String("name", nameRule)
	status, _ := o.String("status", refRule)
	author := o.NullableString("author", nameRule)
	if err := o.Err(); err != nil {
		// The reference reads name (for its permission check), then
		// status, itself.
		return withReferenceDetail(o, err, refKey{"name", ""}, refKey{"status", "GlobalTagStatus not found."})
	}
	g, err := s.svc.CreateGlobalTag(c.ctx, name, status, author)
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.NewGTWriteByName(g))
	return nil
}

// cloneGlobalTag: POST cloneGlobalTag/<src>/<dst> (docs/compatibility.md "Clone"). The body is
// never read (clients send null); the permission is on the new name.
func (s *Server) cloneGlobalTag(c *call) error {
	src, dst := c.param("src"), c.param("dst")
	if err := s.permit(c, auth.RoleAdmin, dst); err != nil {
		return err
	}
	g, err := s.svc.CloneGlobalTag(c.ctx, src, dst)
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.NewGTSummary(g))
	return nil
}

// changeGlobalTagStatus: PUT gt_change_status/<name>/<status> (docs/compatibility.md "Change status"). The body is never read; the answer carries the numeric status id.
func (s *Server) changeGlobalTagStatus(c *call) error {
	name, status := c.param("name"), c.param("status")
	if err := s.permit(c, auth.RoleAdmin, name); err != nil {
		return err
	}
	g, err := s.svc.ChangeGlobalTagStatus(c.ctx, name, status)
	if err != nil {
		return err
	}
	api.WriteOK(c.req, wire.NewGTWriteByID(g))
	return nil
}

// deleteGlobalTag: DELETE deleteGlobalTag/<name> (docs/compatibility.md "Delete global tag").
func (s *Server) deleteGlobalTag(c *call) error {
	name := c.param("name")
	if err := s.permit(c, auth.RoleAdmin, name); err != nil {
		return err
	}
	if err := s.svc.DeleteGlobalTag(c.ctx, name); err != nil {
		return err
	}
	api.WriteOK(c.req, wire.Detail{Detail: "Global tag " + name + " deleted."})
	return nil
}
