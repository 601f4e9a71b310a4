package concord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// pagedLocks answers ListLocks with three pages of two locks (tokens "p2", "p3").
func pagedLocks(failOn string) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("page_token")
		if token == failOn {
			writeError(w, CodePermissionDenied, nil)
			return
		}
		page, next := map[string]int{"": 1, "p2": 2, "p3": 3}[token], ""
		if page < 3 {
			next = fmt.Sprintf("p%d", page+1)
		}
		locks := []any{}
		for i := range 2 {
			locks = append(locks, map[string]any{"name": fmt.Sprintf("lock-%d-%d", page, i), "fencing_token": page*10 + i})
		}
		writeJSON(w, 200, map[string]any{"locks": locks, "next_page_token": next})
	}
}

func TestListIteratesOverEveryPage(t *testing.T) {
	f, c := newFake(t, pagedLocks("none"))
	var names []string
	for lock, err := range c.Locks.List(context.Background(), &ListLocksParams{Prefix: "lock-", PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, lock.Name)
	}
	if len(names) != 6 || names[0] != "lock-1-0" || names[5] != "lock-3-1" {
		t.Fatalf("names %v", names)
	}
	reqs := f.received()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	q, _ := url.ParseQuery(reqs[2].Query)
	if q.Get("prefix") != "lock-" || q.Get("page_size") != "2" || q.Get("page_token") != "p3" {
		t.Fatalf("third query %q", reqs[2].Query)
	}
}

func TestListStopsFetchingWhenTheLoopBreaks(t *testing.T) {
	f, c := newFake(t, pagedLocks("none"))
	for range c.Locks.List(context.Background(), nil) {
		break
	}
	if len(f.received()) != 1 {
		t.Fatalf("%d requests after break, want 1", len(f.received()))
	}
}

func TestListYieldsAnErrorOnceAndEnds(t *testing.T) {
	_, c := newFake(t, pagedLocks("p2"))
	var got []string
	var errs []error
	for lock, err := range c.Locks.List(context.Background(), nil) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, lock.Name)
	}
	var denied *PermissionDeniedError
	if len(got) != 2 || len(errs) != 1 || !errors.As(errs[0], &denied) {
		t.Fatalf("items %v, errors %v", got, errs)
	}
}

func TestListStartsAtTheGivenToken(t *testing.T) {
	_, c := newFake(t, pagedLocks("none"))
	count := 0
	for _, err := range c.Locks.List(context.Background(), &ListLocksParams{PageToken: "p3"}) {
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	if count != 2 {
		t.Fatalf("%d items from the last page, want 2", count)
	}
}

func TestListPageReturnsOnePage(t *testing.T) {
	_, c := newFake(t, pagedLocks("none"))
	page, err := c.Locks.ListPage(context.Background(), &ListLocksParams{PageToken: "p2"})
	if err != nil || len(page.Locks) != 2 || page.NextPageToken != "p3" || page.Locks[1].FencingToken != 21 {
		t.Fatalf("page %+v, err %v", page, err)
	}
}

func TestListRejectsARepeatedToken(t *testing.T) {
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"locks": []any{map[string]any{"name": "a"}}, "next_page_token": "same"})
	})
	var last error
	n := 0
	for _, err := range c.Locks.List(context.Background(), nil) {
		n++
		last = err
		if n > 10 {
			t.Fatal("the iterator does not end")
		}
	}
	if last == nil {
		t.Fatal("a token repeated by the server should end the listing with an error")
	}
}

func TestPaginatedCallWithPathParameter(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"instances": []any{map[string]any{"instance_id": "i1", "port": 80}}})
	})
	for inst, err := range c.Discovery.ListInstances(context.Background(), "billing api", &ListInstancesParams{Tags: []string{"a", "b"}, IncludeUnhealthy: true}) {
		if err != nil || inst.InstanceID != "i1" || inst.Port != 80 {
			t.Fatalf("instance %+v, err %v", inst, err)
		}
	}
	r := f.received()[0]
	if r.Path != "/v1/services/billing%20api/instances" || r.Query != "include_unhealthy=true&tags=a&tags=b" {
		t.Fatalf("path %q query %q", r.Path, r.Query)
	}
}
