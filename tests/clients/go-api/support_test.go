package goapi

// Helpers of the lifecycle test: the environment run_client.py and scripts/test-servers.sh give,
// the secrets file, and real logins to PostgreSQL and Redis.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

func env(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set (run through tests/clients/support/run_client.py with the servers' env sourced)", name)
	}
	return v
}

var secretsMu sync.Mutex

// record appends a secret to $CREDBROKER_CLIENT_SECRETS: run_client.py fails the test if it shows up
// in the broker's log or in this program's output.
func record(t *testing.T, secrets ...string) {
	t.Helper()
	secretsMu.Lock()
	defer secretsMu.Unlock()
	f, err := os.OpenFile(env(t, "CREDBROKER_CLIENT_SECRETS"), os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatalf("secrets file: %v", err)
	}
	defer f.Close()
	for _, s := range secrets {
		if s == "" {
			t.Fatalf("an empty secret was handed out")
		}
		if _, err := fmt.Fprintln(f, s); err != nil {
			t.Fatalf("secrets file: %v", err)
		}
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

type servers struct {
	pgHost, pgPort, pgDB, pgRootUser, pgRootPassword string
	redisHost, redisPort, redisRootUser, redisRootPassword string
}

func testServers(t *testing.T) servers {
	s := servers{
		pgHost: env(t, "CREDBROKER_TEST_PG_HOST"), pgPort: env(t, "CREDBROKER_TEST_PG_PORT"),
		pgDB: env(t, "CREDBROKER_TEST_PG_DATABASE"), pgRootUser: env(t, "CREDBROKER_TEST_PG_USER"),
		pgRootPassword: env(t, "CREDBROKER_TEST_PG_PASSWORD"),
		redisHost: env(t, "CREDBROKER_TEST_REDIS_HOST"), redisPort: env(t, "CREDBROKER_TEST_REDIS_PORT"),
		redisRootUser: env(t, "CREDBROKER_TEST_REDIS_USER"), redisRootPassword: env(t, "CREDBROKER_TEST_REDIS_PASSWORD"),
	}
	record(t, s.pgRootPassword, s.redisRootPassword)
	return s
}

func (s servers) pgURL(user, password string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: net.JoinHostPort(s.pgHost, s.pgPort),
		Path: "/" + s.pgDB, RawQuery: "sslmode=disable&connect_timeout=5"}
	return u.String()
}

// pgLogin logs in with the credential and answers current_user; an error when PostgreSQL refuses it.
func (s servers) pgLogin(user, password string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.pgURL(user, password))
	if err != nil {
		return "", scrub(err, password)
	}
	defer conn.Close(ctx)
	var who string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil {
		return "", scrub(err, password)
	}
	return who, nil
}

// pgRoot runs statements as the test servers' superuser.
func (s servers) pgRoot(t *testing.T, statements ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.pgURL(s.pgRootUser, s.pgRootPassword))
	if err != nil {
		t.Fatalf("PostgreSQL superuser login: %v", scrub(err, s.pgRootPassword))
	}
	defer conn.Close(ctx)
	for _, st := range statements {
		if _, err := conn.Exec(ctx, st); err != nil {
			t.Fatalf("PostgreSQL statement failed: %v", err)
		}
	}
}

// pgUserExists asks the superuser whether a role is there.
func (s servers) pgUserExists(t *testing.T, user string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.pgURL(s.pgRootUser, s.pgRootPassword))
	if err != nil {
		t.Fatalf("PostgreSQL superuser login: %v", scrub(err, s.pgRootPassword))
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = $1", user).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func (s servers) redisClient(user, password string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: net.JoinHostPort(s.redisHost, s.redisPort), Username: user,
		Password: password, DialTimeout: 5 * time.Second, MaxRetries: -1})
}

// redisLogin logs in with the credential and writes and reads back a key under cache:.
func (s servers) redisLogin(user, password string) error {
	c := s.redisClient(user, password)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key := "cache:go-api:" + user
	if err := c.Set(ctx, key, "v", time.Minute).Err(); err != nil {
		return scrub(err, password)
	}
	v, err := c.Get(ctx, key).Result()
	if err != nil {
		return scrub(err, password)
	}
	if v != "v" {
		return fmt.Errorf("read back %q", v)
	}
	return nil
}

func (s servers) redisRoot(t *testing.T, args ...interface{}) {
	t.Helper()
	c := s.redisClient(s.redisRootUser, s.redisRootPassword)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Do(ctx, args...).Err(); err != nil {
		t.Fatalf("Redis admin command %v failed: %v", args[0], scrub(err, s.redisRootPassword))
	}
}

// scrub keeps a password out of an error's text (drivers may quote the connection string).
func scrub(err error, password string) error {
	if err == nil {
		return nil
	}
	return errors.New(strings.ReplaceAll(err.Error(), password, "[password]"))
}

// status is the HTTP status of a Vault API error (0 if it is not one).
func status(err error) int {
	var re *vault.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func mustOK(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
