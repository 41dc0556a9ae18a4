package zohotest

import "strings"

// User is a CRM user to seed. Fields holds custom user fields (e.g. the
// field holding the Enreach user id), returned in the users API object.
type User struct {
	ID       string
	Email    string
	FullName string
	Active   bool
	Fields   map[string]string
}

type user User

func (u *user) json() map[string]any {
	first, last, _ := strings.Cut(u.FullName, " ")
	status := "active"
	if !u.Active {
		status = "disabled"
	}
	m := map[string]any{
		"id":         u.ID,
		"email":      u.Email,
		"full_name":  u.FullName,
		"first_name": first,
		"last_name":  last,
		"status":     status,
		"confirm":    true,
		"role":       map[string]any{"name": "CEO", "id": "5725767000000026005"},
		"profile":    map[string]any{"name": "Administrator", "id": "5725767000000026011"},
	}
	for k, v := range u.Fields {
		m[k] = v
	}
	return m
}

// AddUser seeds a user and returns its id (u.ID when set).
func (s *Server) AddUser(u User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUserLocked(u)
}

func (s *Server) addUserLocked(u User) string {
	if u.ID == "" {
		u.ID = s.nextID()
	}
	cp := user(u)
	cp.Fields = map[string]string{}
	for k, v := range u.Fields {
		cp.Fields[k] = v
	}
	s.users = append(s.users, &cp)
	return u.ID
}

// SetUserActive activates or deactivates a user.
func (s *Server) SetUserActive(id string, active bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.userByID(id); u != nil {
		u.Active = active
	}
}

func (s *Server) userByID(id string) *user {
	for _, u := range s.users {
		if u.ID == id {
			return u
		}
	}
	return nil
}
