package auth

import (
	"testing"
)

// BenchmarkVerifyAccess is the per-request cost: signature, claims, and
// the database read of the user and family.
func BenchmarkVerifyAccess(b *testing.B) {
	e := newEnv(b, nil)
	e.user(b, DefaultTenantID, "bench@example.com", RoleEditor)
	p := e.login(b, "bench@example.com")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.svc.VerifyAccess(e.ctx, p.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyAccessParallel is VerifyAccess from all cores at once
// (the reader pool is 4 connections).
func BenchmarkVerifyAccessParallel(b *testing.B) {
	e := newEnv(b, nil)
	e.user(b, DefaultTenantID, "bench@example.com", RoleEditor)
	p := e.login(b, "bench@example.com")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.svc.VerifyAccess(e.ctx, p.AccessToken); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkLogin is a successful login: the argon2id verification plus
// one write transaction (family, refresh token) and signing.
func BenchmarkLogin(b *testing.B) {
	e := newEnv(b, nil)
	e.user(b, DefaultTenantID, "bench@example.com", RoleEditor)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := e.svc.Login(e.ctx, "bench@example.com", testPassword, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashPassword is one argon2id hash with the default parameters.
func BenchmarkHashPassword(b *testing.B) {
	h := &hasher{params: defaultArgon2, sem: make(chan struct{}, 1)}
	for b.Loop() {
		if _, err := h.hash(b.Context(), testPassword); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefresh is one rotation (one BEGIN IMMEDIATE transaction).
func BenchmarkRefresh(b *testing.B) {
	e := newEnv(b, nil)
	e.user(b, DefaultTenantID, "bench@example.com", RoleEditor)
	p := e.login(b, "bench@example.com")
	rt := p.RefreshToken
	b.ReportAllocs()
	for b.Loop() {
		np, err := e.svc.Refresh(e.ctx, rt)
		if err != nil {
			b.Fatal(err)
		}
		rt = np.RefreshToken
	}
}
