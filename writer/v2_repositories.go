package writer

// repositoryEndpoints are the v2 writes of payload repositories and file records (docs/design.md "Payload repositories").
func (s *Server) repositoryEndpoints() []v2Route {
	return nil
}
