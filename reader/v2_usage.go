package reader

// usageRoutes are the v2 reads of access accounting (docs/design.md "Access accounting").
func (s *Server) usageRoutes() []v2Route {
	return nil
}
