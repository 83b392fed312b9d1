package writer

// noticeEndpoints are the v2 writes of notices (docs/design.md "Notices").
func (s *Server) noticeEndpoints() []v2Route {
	return nil
}
