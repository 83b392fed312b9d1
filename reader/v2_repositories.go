package reader

// repositoryRoutes are the v2 reads of payload repositories and file records (docs/design.md "Payload repositories").
func (s *Server) repositoryRoutes() []v2Route {
	return nil
}
