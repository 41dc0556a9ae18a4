package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/callsync/callsync/store"
)

// tempStore opens a SQLite store in a new temporary folder for an in-process
// phase; remove deletes the folder (close the store first).
func tempStore(ctx context.Context, phase string) (st *store.Store, remove func(), err error) {
	dir, err := os.MkdirTemp("", "callsync-bench-"+phase+"-")
	if err != nil {
		return nil, nil, fmt.Errorf("%s: temporary folder: %w", phase, err)
	}
	remove = func() { os.RemoveAll(dir) }
	st, err = store.Open(ctx, filepath.Join(dir, "callsync.db"))
	if err != nil {
		remove()
		return nil, nil, err
	}
	return st, remove, nil
}
