package writer

// protectionEndpoints are the v2 writes of protection of GTs, lists and IOVs (docs/design.md "Protection").
func (s *Server) protectionEndpoints() []v2Route {
	return nil
}
