package routing

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/store"
)

// Directory resolves the "owner" target: the work number of the Enreach
// user mapped to a CRM user. ok is false when the CRM user has no Enreach
// user or that user no work number.
type Directory interface {
	OwnerTarget(ctx context.Context, tenant, crmUserID string) (target string, ok bool)
}

// UserMaps is the stored Enreach-to-CRM user map (*store.Store).
type UserMaps interface {
	UserMap(ctx context.Context, tenant string) (map[string]store.UserMapping, error)
}

// EnreachUsers returns a tenant's Enreach users (GET /users).
type EnreachUsers func(ctx context.Context, tenant string) ([]enreach.User, error)

// DirectoryOptions configure a UserDirectory.
type DirectoryOptions struct {
	// TTL is how long a tenant's inverted map is used before it is rebuilt
	// in the background (default 5 minutes). Until the rebuild lands, and
	// when it fails, the previous map keeps answering.
	TTL time.Duration
	// Overrides returns the tenant's configured crm.users.overrides
	// (Enreach user id -> CRM user id), which win over the stored map.
	Overrides func(tenant string) map[string]string
	// Resolve, when set, is asked during a build for the Enreach users with
	// neither an override nor a fresh stored mapping (one the calls job has
	// not written, or older than UserMapTTL): it maps them to CRM user ids
	// ("" = none) through the tenant's CRM, keyed by Enreach user id (any
	// case), and saves its answers to the stored user map so that the calls
	// job benefits too (cmd/callsync wires jobs.Syncer.ResolveUsers). When it
	// fails, the build goes on with the stored map and the next build asks
	// again.
	Resolve func(ctx context.Context, tenant string, users []enreach.User) (map[string]string, error)
	// UserMapTTL is how long a stored mapping counts as fresh (default one
	// hour, the calls job's jobs.UserMapTTL).
	UserMapTTL time.Duration
	// RefreshTimeout bounds a background rebuild (default 30 s).
	RefreshTimeout time.Duration
	Log            *slog.Logger
	Now            func() time.Time
}

// UserDirectory is a Directory built from the stored user map (Enreach user
// id -> CRM user id, written by the calls job) inverted and joined with the
// Enreach users' work numbers. With DirectoryOptions.Resolve, Enreach users
// that no call has mapped yet are resolved through the CRM as the map is
// built, so every Enreach user with a CRM user can be an owner target. Maps
// are built in the background, bounded by RefreshTimeout rather than by a
// routing request's budget: the first request for a tenant waits for the
// build within its own budget, later ones never wait (a stale map answers
// while its rebuild runs). Call Refresh to build ahead (at start-up, after the
// calls job has refreshed the user map). Safe for concurrent use.
type UserDirectory struct {
	maps  UserMaps
	users EnreachUsers
	o     DirectoryOptions

	mu      sync.Mutex
	tenants map[string]*dirTenant
}

type dirTenant struct {
	mu       sync.Mutex
	byCRM    map[string]string // lower-case CRM user id -> work number
	built    time.Time
	retryAt  time.Time     // after a failed build, no new attempt before
	building chan struct{} // non-nil while a build runs; closed when done
}

// retryAfterFailure spaces the attempts to build a tenant's map while the
// store or the Enreach API fails.
const retryAfterFailure = time.Minute

// NewUserDirectory returns a UserDirectory.
func NewUserDirectory(maps UserMaps, users EnreachUsers, o DirectoryOptions) *UserDirectory {
	if o.TTL <= 0 {
		o.TTL = 5 * time.Minute
	}
	if o.RefreshTimeout <= 0 {
		o.RefreshTimeout = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.UserMapTTL <= 0 {
		o.UserMapTTL = time.Hour
	}
	return &UserDirectory{maps: maps, users: users, o: o, tenants: map[string]*dirTenant{}}
}

// OwnerTarget implements Directory. CRM user ids compare case-insensitively
// (Dataverse GUIDs come in either case; Salesforce's 18-character ids are
// case-safe).
func (d *UserDirectory) OwnerTarget(ctx context.Context, tenant, crmUserID string) (string, bool) {
	dt := d.tenant(tenant)
	now := d.o.Now()
	dt.mu.Lock()
	due := dt.byCRM == nil || now.Sub(dt.built) >= d.o.TTL
	if due && dt.building == nil && !now.Before(dt.retryAt) {
		dt.building = make(chan struct{})
		go d.background(tenant, dt, dt.building)
	}
	byCRM, wait := dt.byCRM, dt.building
	dt.mu.Unlock()
	if byCRM == nil {
		if wait == nil { // the last build failed recently
			return "", false
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return "", false
		}
		dt.mu.Lock()
		byCRM = dt.byCRM
		dt.mu.Unlock()
	}
	n, ok := byCRM[strings.ToLower(crmUserID)]
	return n, ok
}

// background builds a tenant's map, then closes done.
func (d *UserDirectory) background(tenant string, dt *dirTenant, done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), d.o.RefreshTimeout)
	defer cancel()
	started := d.o.Now()
	byCRM, err := d.invert(ctx, tenant)
	dt.mu.Lock()
	defer dt.mu.Unlock()
	if err != nil {
		d.o.Log.Warn("routing: owner directory build failed", "tenant", tenant, "keeping_previous", dt.byCRM != nil, "err", err)
		dt.retryAt = started.Add(min(d.o.TTL, retryAfterFailure))
	} else {
		dt.byCRM, dt.built, dt.retryAt = byCRM, started, time.Time{}
	}
	dt.building = nil
	close(done)
}

// Refresh rebuilds a tenant's map now.
func (d *UserDirectory) Refresh(ctx context.Context, tenant string) error {
	started := d.o.Now()
	byCRM, err := d.invert(ctx, tenant)
	if err != nil {
		return err
	}
	dt := d.tenant(tenant)
	dt.mu.Lock()
	dt.byCRM, dt.built, dt.retryAt = byCRM, started, time.Time{}
	dt.mu.Unlock()
	return nil
}

func (d *UserDirectory) tenant(name string) *dirTenant {
	d.mu.Lock()
	defer d.mu.Unlock()
	dt := d.tenants[name]
	if dt == nil {
		dt = &dirTenant{}
		d.tenants[name] = dt
	}
	return dt
}

// invert joins the stored user map (completed through Resolve, and with the
// overrides on top) with the Enreach users: CRM user id -> work number.
func (d *UserDirectory) invert(ctx context.Context, tenant string) (map[string]string, error) {
	maps, err := d.maps.UserMap(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("routing: directory %s: %w", tenant, err)
	}
	users, err := d.users(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("routing: directory %s: enreach users: %w", tenant, err)
	}
	var overrides map[string]string
	if d.o.Overrides != nil {
		overrides = d.o.Overrides(tenant)
	}
	enreachToCRM := map[string]string{}
	fresh := map[string]bool{}
	now := d.o.Now()
	for id, m := range maps {
		k := strings.ToLower(id)
		enreachToCRM[k] = m.CRMUserID
		if now.Sub(m.FetchedAt) < d.o.UserMapTTL {
			fresh[k] = true
		}
	}
	for id := range overrides {
		fresh[strings.ToLower(id)] = true
	}
	if d.o.Resolve != nil {
		var need []enreach.User
		for _, u := range users {
			if k := strings.ToLower(u.ID); k != "" && !fresh[k] {
				fresh[k] = true // each user once
				need = append(need, u)
			}
		}
		if len(need) > 0 {
			got, err := d.o.Resolve(ctx, tenant, need)
			if err != nil {
				// Stale stored mappings still answer; the next build
				// asks again.
				d.o.Log.Warn("routing: owner directory: resolving Enreach users failed; using the stored map",
					"tenant", tenant, "users", len(need), "err", err)
			}
			for id, crmID := range got {
				enreachToCRM[strings.ToLower(id)] = crmID
			}
		}
	}
	for id, crmID := range overrides {
		enreachToCRM[strings.ToLower(id)] = crmID
	}
	byCRM := map[string]string{}
	chosen := map[string]string{} // CRM id -> Enreach id giving its number
	for _, u := range users {
		eid := strings.ToLower(u.ID)
		crmID := strings.ToLower(strings.TrimSpace(enreachToCRM[eid]))
		work := strings.TrimSpace(u.WorkNumber)
		if crmID == "" || work == "" {
			continue
		}
		// Several Enreach users on one CRM user: the lowest Enreach id
		// wins, so the answer does not depend on list order.
		if prev, ok := chosen[crmID]; ok && prev < eid {
			continue
		}
		chosen[crmID], byCRM[crmID] = eid, work
	}
	return byCRM, nil
}
