package testkit

import (
	"context"
	"fmt"
	"os"

	"github.com/condcache/condcache/internal/containerstack"
	"github.com/condcache/condcache/internal/localstack"
)

// ServicesEnv selects where the tests' PostgreSQL servers and Redis run
// (docs/testing.md): "local" (the default: local binaries, through
// internal/localstack) or "containers" (testcontainers-go, through
// internal/containerstack; images from CONDCACHE_TEST_POSTGRES_IMAGE and
// CONDCACHE_TEST_REDIS_IMAGE). The condcache processes are local binaries
// in both modes.
const ServicesEnv = "CONDCACHE_TEST_SERVICES"

// NewStack starts a stack with o in the mode ServicesEnv selects. Main and
// StartStack use it; tests that keep a stack of their own for the whole
// package (and stop it themselves) call it directly.
func NewStack(ctx context.Context, o localstack.Options) (*localstack.Stack, error) {
	switch mode := os.Getenv(ServicesEnv); mode {
	case "", "local":
		return localstack.Start(ctx, o)
	case "containers":
		return containerstack.Start(ctx, o)
	default:
		return nil, fmt.Errorf("%s=%q: want local or containers", ServicesEnv, mode)
	}
}
