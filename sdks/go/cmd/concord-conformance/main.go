// Command concord-conformance is the Go SDK's adapter for the conformance runner, over the
// SDK's own HTTP/JSON transport (the loop and op table live in internal/conformance).
package main

import (
	"log"
	"os"

	"github.com/concordhq/concord/sdks/go/internal/conformance"
)

func main() {
	if err := conformance.Serve(os.Stdin, os.Stdout, nil); err != nil {
		log.Fatal(err)
	}
}
