// Command daprd-lock is daprd with only the Redis lock store, a benchmark peer for bench/.
package main

import (
	"github.com/dapr/components-contrib/lock/redis"
	lockLoader "github.com/dapr/dapr/pkg/components/lock"
)

func main() {
	lockLoader.DefaultRegistry.RegisterComponent(redis.NewStandaloneRedisLock, "redis")
	runDaprd()
}
