package dynamics_test

import (
	"context"
	"testing"

	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
)

func TestQueueOwners(t *testing.T) {
	b := newBackend(t, dynamicstest.Options{})
	owner := b.srv.AddUser(dynamicstest.User{Name: "Queue Boss", Email: "boss@contoso.example"})
	owned := b.srv.AddQueue(dynamicstest.Queue{Name: "Sales", OwnerID: owner})
	other := b.srv.AddQueue(dynamicstest.Queue{Name: "Support"}) // owned by the application user
	got, err := b.client.QueueOwners(context.Background(), []string{owned, other, owned})
	if err != nil {
		t.Fatal(err)
	}
	if got[owned] != owner || got[other] != b.srv.AppUserID() || len(got) != 2 {
		t.Fatalf("owners = %v, want %s -> %s and %s -> app user", got, owned, owner, other)
	}
	// One queue alone (a tenant with a single callback queue).
	one, err := b.client.QueueOwners(context.Background(), []string{owned})
	if err != nil || one[owned] != owner || len(one) != 1 {
		t.Fatalf("one queue: %v %v", one, err)
	}
	if _, err := b.client.QueueOwners(context.Background(), []string{"not-a-guid"}); err == nil {
		t.Fatal("a bad queue id was sent to Dataverse")
	}
}
