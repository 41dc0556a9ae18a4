package salesforce_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
)

// audit_field receives Activity.Audit, cut only at the field's length from
// describe and marked when cut; without audit_field nothing is written to it.
func TestAuditField(t *testing.T) {
	srv := newOrg(t)
	srv.DefineField("Task", "Enreach_Audit__c", salesforcetest.FieldString) // Text(255)
	srv.DefineField("Task", "Long_Audit__c", salesforcetest.FieldTextArea)  // Long Text Area(32000)
	long := `{"CallId":"` + strings.Repeat("ä", 400) + `"}`
	short := `{"CallId":"c-1"}`

	cfg := ccConfig(srv)
	cfg.AuditField = "Enreach_Audit__c"
	c := newClient(t, cfg, testOptions())
	a1, a2 := activity(1, nil), activity(2, nil)
	a1.Audit, a2.Audit = short, long
	res, err := c.WriteActivities(context.Background(), []crm.Activity{a1, a2})
	if err != nil || res[0].Status != crm.Created || res[1].Status != crm.Created {
		t.Fatalf("write: %v %v", res, err)
	}
	t1, _ := srv.Get(res[0].ID)
	t2, _ := srv.Get(res[1].ID)
	if t1.String("Enreach_Audit__c") != short {
		t.Errorf("short audit: %q", t1.String("Enreach_Audit__c"))
	}
	got := t2.String("Enreach_Audit__c")
	if utf8.RuneCountInString(got) != 255 || !strings.HasSuffix(got, " of 413 characters]") || !strings.HasPrefix(got, `{"CallId":"ää`) {
		t.Errorf("long audit (%d characters): %q", utf8.RuneCountInString(got), got)
	}

	cfg.AuditField = "Long_Audit__c"
	c = newClient(t, cfg, testOptions())
	a3 := activity(3, nil)
	a3.Audit = long
	res, err = c.WriteActivities(context.Background(), []crm.Activity{a3})
	if err != nil || res[0].Status != crm.Created {
		t.Fatalf("write: %v %v", res, err)
	}
	if t3, _ := srv.Get(res[0].ID); t3.String("Long_Audit__c") != long {
		t.Errorf("long text area audit cut: %d characters", utf8.RuneCountInString(t3.String("Long_Audit__c")))
	}

	c = newClient(t, ccConfig(srv), testOptions())
	a4 := activity(4, nil)
	a4.Audit = short
	res, err = c.WriteActivities(context.Background(), []crm.Activity{a4})
	if err != nil || res[0].Status != crm.Created {
		t.Fatalf("write: %v %v", res, err)
	}
	if t4, _ := srv.Get(res[0].ID); t4.String("Enreach_Audit__c") != "" || t4.String("Long_Audit__c") != "" {
		t.Errorf("audit written without audit_field: %v", t4)
	}
}

// A configured audit field the org lacks: calls are written without it.
func TestAuditFieldMissing(t *testing.T) {
	srv := newOrg(t)
	cfg := ccConfig(srv)
	cfg.AuditField = "Enreach_Audit__c"
	c := newClient(t, cfg, testOptions())
	a := activity(1, nil)
	a.Audit = `{"CallId":"c-1"}`
	if res, err := c.WriteActivities(context.Background(), []crm.Activity{a}); err != nil || res[0].Status != crm.Created {
		t.Fatalf("write: %v %v", res, err)
	}
}
