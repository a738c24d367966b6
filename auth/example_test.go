package auth_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/quarryhq/quarry/auth"
	"github.com/quarryhq/quarry/storage"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "quarry-auth-example")
	defer os.RemoveAll(dir)
	db, err := storage.Open(ctx, storage.Config{Path: filepath.Join(dir, "quarry.db")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		fmt.Println(err)
		return
	}
	keys, err := auth.LoadKeySet(dir, "") // generates dir/jwt-keys.json once
	if err != nil {
		fmt.Println(err)
		return
	}
	svc, err := auth.New(auth.Config{DB: db, Keys: keys})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := svc.CreateUser(ctx, auth.DefaultTenantID, "admin@example.com", "a long pass phrase", auth.RoleAdmin); err != nil {
		fmt.Println(err)
		return
	}
	pair, _, err := svc.Login(ctx, "admin@example.com", "a long pass phrase", "")
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := svc.VerifyAccess(ctx, pair.AccessToken)
	fmt.Println(p.Email, p.Role, err)

	next, err := svc.Refresh(ctx, pair.RefreshToken)
	fmt.Println(next.TokenType, err)
	_, err = svc.Refresh(ctx, pair.RefreshToken) // a rotated token again
	fmt.Println(errors.Is(err, auth.ErrTokenReused))
	// Output:
	// admin@example.com admin <nil>
	// Bearer <nil>
	// true
}
