package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
)

func TestCRMDirectorySettings(t *testing.T) {
	c := mustParse(t, "tenants:"+validTenant)
	crm := c.Tenants[0].CRM
	if crm.Directory != config.DirectoryMirror || crm.DirectoryFullResync.D() != 7*24*time.Hour {
		t.Errorf("defaults: directory %q, full resync %s; want mirror, 168h", crm.Directory, crm.DirectoryFullResync.D())
	}
	c = mustParse(t, "tenants:"+strings.Replace(validTenant, "      type: dynamics\n", "      type: dynamics\n      directory: live\n      directory_full_resync: 24h\n", 1))
	if crm := c.Tenants[0].CRM; crm.Directory != config.DirectoryLive || crm.DirectoryFullResync.D() != 24*time.Hour {
		t.Errorf("set: %+v", crm)
	}
	_, err := parse(t, "tenants:"+strings.Replace(validTenant, "      type: dynamics\n", "      type: dynamics\n      directory: cache\n", 1))
	if err == nil || !strings.Contains(err.Error(), `tenants[0].crm.directory: invalid value "cache"`) {
		t.Errorf("err = %v, want the key path and the value", err)
	}
}
