package dynamicstest

import "strings"

// GrantPrivilege gives back a privilege taken with DenyPrivilege, as an
// admin adding it to the application user's security role does.
func (s *Server) GrantPrivilege(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, strings.ToLower(name))
}
