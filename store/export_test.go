package store

// setSQLite is SQLite with the set-based statements (UpsertLedgerRows,
// InsertDecisions) that only PostgreSQL runs in production, so the tests
// hold SQLite's versions of them to the same expectations.
type setSQLite struct{ sqliteEngine }

func (setSQLite) setStatements() bool { return true }

// UseSetStatements makes a SQLite store save through the set-based
// statements.
func UseSetStatements(s *Store) {
	if e, ok := s.eng.(sqliteEngine); ok {
		s.eng = setSQLite{e}
	}
}

// SaveRowByRow makes a SQLite store save each ledger row and decision log
// entry with a statement of its own, as it did before the multi-row
// statements (rowsQuerier), so that tests can compare the rows each
// leaves.
func SaveRowByRow(s *Store) {
	if e, ok := s.eng.(sqliteEngine); ok {
		e.texts = nil
		s.eng = e
	}
}
