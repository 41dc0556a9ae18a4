package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/callsync/callsync/store/pglocal"
)

// pgDatabases hands out databases on the bench's throwaway PostgreSQL
// server (store/pglocal), started on first use and stopped by stop.
type pgDatabases struct {
	once sync.Once
	srv  *pglocal.Server
	err  error
}

// create makes an empty database; drop removes it.
func (p *pgDatabases) create(ctx context.Context, name string) (url string, drop func(), err error) {
	p.once.Do(func() { p.srv, p.err = pglocal.Start(ctx) })
	if p.err != nil {
		return "", nil, fmt.Errorf("PostgreSQL for the bench: %w", p.err)
	}
	url, err = p.srv.CreateDatabase(ctx, name)
	if err != nil {
		return "", nil, err
	}
	return url, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		p.srv.DropDatabase(ctx, name)
	}, nil
}

// cpu is the server's CPU time so far (zero before it started).
func (p *pgDatabases) cpu() time.Duration {
	if p.srv == nil {
		return 0
	}
	d, _ := p.srv.CPU()
	return d
}

func (p *pgDatabases) stop() {
	if p.srv != nil {
		p.srv.Stop()
	}
}
