package crmtest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
)

// Memory fetches parent accounts like the real clients.
var _ crm.ParentFetcher = (*crmtest.Memory)(nil)

func TestMemoryAccounts(t *testing.T) {
	ctx := context.Background()
	m := crmtest.NewMemory()
	vip := m.AddCustomer(crm.Account, "Big Co", map[string]string{"telephone1": "+35891111111"}, "user-1",
		map[string]string{"tier": "VIP", "secret": "x"})
	plain := m.AddCustomer(crm.Account, "Small Co", nil, "", nil)
	contact := m.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Name: "Carl", ParentAccountID: vip})

	got, err := m.Accounts(ctx, []string{vip, plain, contact, "nope"}, []string{"tier"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d accounts, want 2: %v", len(got), got)
	}
	if r := got[vip]; r.Name != "Big Co" || r.OwnerID != "user-1" || len(r.Fields) != 1 || r.Fields["tier"] != "VIP" {
		t.Errorf("vip: %+v", r)
	}
	if r := got[plain]; r.Name != "Small Co" || r.Fields != nil {
		t.Errorf("plain: %+v", r)
	}
	if n := m.Calls(crmtest.MethodAccounts); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	if got, err := m.Accounts(ctx, nil, nil); err != nil || len(got) != 0 || m.Calls(crmtest.MethodAccounts) != 1 {
		t.Errorf("no ids: %v, %v", got, err)
	}
	m.FailNext(crmtest.MethodAccounts, 1, nil)
	if _, err := m.Accounts(ctx, []string{vip}, nil); !errors.Is(err, crmtest.ErrInjected) {
		t.Errorf("injected failure: %v", err)
	}
}
