// Command thirdparty is a user's program on OpenAPI Generator's go client: it acquires a lock,
// meets the typed 409 of a second owner, releases it, appends an event and reads it back.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"

	openapi "github.com/GIT_USER_ID/GIT_REPO_ID"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "FAILED:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := openapi.NewConfiguration()
	cfg.Servers = openapi.ServerConfigurations{{URL: os.Getenv("CONCORD_BASE_URL")}}
	client := openapi.NewAPIClient(cfg)
	ctx := context.WithValue(context.Background(), openapi.ContextAPIKeys,
		map[string]openapi.APIKey{"apiKeyAuth": {Key: os.Getenv("CONCORD_API_KEY")}})
	suffix, err := randomSuffix()
	if err != nil {
		return err
	}
	if err := locks(ctx, client, "tp-go-"+suffix); err != nil {
		return err
	}
	return events(ctx, client, "tp-go-"+suffix)
}

func locks(ctx context.Context, client *openapi.APIClient, name string) error {
	held, _, err := client.LockServiceAPI.AcquireLock(ctx, name).
		AcquireLockBody(*openapi.NewAcquireLockBody("alice", "30s")).Execute()
	if err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	token := held.GetLock().FencingToken
	if token == nil || *token < 1 {
		return fmt.Errorf("acquire: no fencing token in %+v", held)
	}
	_, resp, err := client.LockServiceAPI.AcquireLock(ctx, name).
		AcquireLockBody(*openapi.NewAcquireLockBody("bob", "30s")).Execute()
	var apiErr *openapi.GenericOpenAPIError
	if !errors.As(err, &apiErr) || resp == nil || resp.StatusCode != http.StatusConflict {
		return fmt.Errorf("second owner: want a 409 GenericOpenAPIError, got %v", err)
	}
	problem, ok := apiErr.Model().(openapi.Problem)
	if !ok || problem.Code != openapi.ERROR_CODE_LOCK_CONFLICT {
		return fmt.Errorf("second owner: want a Problem with LOCK_CONFLICT, got %#v", apiErr.Model())
	}
	_, _, err = client.LockServiceAPI.ReleaseLock(ctx, name).
		ReleaseLockBody(*openapi.NewReleaseLockBody("alice", *token)).Execute()
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	fmt.Printf("locks: acquired %s (token %d), 409 LOCK_CONFLICT, released\n", name, *token)
	return nil
}

func events(ctx context.Context, client *openapi.APIClient, stream string) error {
	id, err := uuid4()
	if err != nil {
		return err
	}
	event := *openapi.NewEventData(id, "Tested")
	event.Data = map[string]interface{}{"n": 1}
	appended, _, err := client.EventServiceAPI.AppendToStream(ctx, stream).
		AppendToStreamBody(*openapi.NewAppendToStreamBody([]openapi.EventData{event})).Execute()
	if err != nil {
		return fmt.Errorf("append: %w", err)
	}
	if revs := appended.GetRevisions(); len(revs) != 1 || revs[0] != 0 {
		return fmt.Errorf("append: want revisions [0], got %v", revs)
	}
	read, _, err := client.EventServiceAPI.ReadStream(ctx, stream).Execute()
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if got := read.GetEvents(); len(got) != 1 || got[0].GetType() != "Tested" {
		return fmt.Errorf("read: want one Tested event, got %+v", got)
	}
	fmt.Printf("events: appended to %s and read it back\n", stream)
	return nil
}

func randomSuffix() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// uuid4 is a random (version 4) UUID: the event id the server deduplicates appends by.
func uuid4() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
