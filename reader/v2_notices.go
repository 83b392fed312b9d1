package reader

// noticeRoutes are the v2 reads of notices (docs/design.md "Notices").
func (s *Server) noticeRoutes() []v2Route {
	return nil
}
