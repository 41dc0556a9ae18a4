package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/callsync/callsync/config"
)

// Any file is a config or an error naming what is wrong, never a panic; a
// valid one can be summarised.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("..", "config.example.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	for _, s := range []string{
		"tenants:" + validTenant,
		"http: {listen: localhost}\nlog: {format: xml, level: trace}\ntenants:" + validTenant,
		"http: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}\ntenants:" + validTenant,
		"tenants:\n  - name: a\n    phone_calls: {call_start_margin: 15x}\n",
		"a: &a [*a]\n", "--- a\n--- b\n", "tenants: [", "", "\t", "tenants: {}\n", "store: 1\n",
	} {
		f.Add([]byte(s))
	}
	env := func(k string) (string, bool) { v, ok := testEnv[k]; return v, ok }
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(data, env, crmTypes)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without text")
			}
			return
		}
		_ = c.Summary()
	})
}
