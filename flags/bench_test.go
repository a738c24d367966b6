package flags

import (
	"testing"
	"time"
)

// BenchmarkEnabled measures the cached path: what every request that
// checks a flag pays.
func BenchmarkEnabled(b *testing.B) {
	e := newEnv(b, func(c *Config) { c.TTL = time.Hour })
	e.set(b, Flag{Key: AIAssist, Scope: ScopeTenant, TenantID: "t1", Enabled: false})
	e.enabled(b, "t1", AIAssist) // warm the cache
	ctx := b.Context()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if on, err := e.svc.Enabled(ctx, "t1", AIAssist); err != nil || on {
				b.Fatalf("Enabled = %v, %v", on, err)
			}
		}
	})
}

// BenchmarkEnabledUncached measures a cache miss: one indexed query on the
// reader pool.
func BenchmarkEnabledUncached(b *testing.B) {
	e := newEnv(b, nil)
	e.set(b, Flag{Key: AIAssist, Scope: ScopeGlobal, Enabled: false})
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		e.svc.invalidate()
		if _, err := e.svc.Enabled(ctx, "t1", AIAssist); err != nil {
			b.Fatal(err)
		}
	}
}
