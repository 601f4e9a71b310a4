// Command daprd-lock is daprd with only the Redis lock store, a benchmark peer for bench/.
//
// daprd registers its components in cmd/daprd/components behind the build tags
// stablecomponents/allcomponents; built with neither, a file of that package panics at start.
// build.sh builds against a copy of dapr with that file emptied, so daprd starts
// with no component but the one registered here.
package main

import (
	"github.com/dapr/components-contrib/lock/redis"
	"github.com/dapr/dapr/cmd/daprd/app"
	lockLoader "github.com/dapr/dapr/pkg/components/lock"
)

func main() {
	lockLoader.DefaultRegistry.RegisterComponent(redis.NewStandaloneRedisLock, "redis")
	app.Run()
}
