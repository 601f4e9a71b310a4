package concord

import (
	"context"
	"fmt"
	"iter"
)

// paginate iterates over the items of successive pages, starting at page token first. fetch
// returns one page's items and the next token ("" after the last page). A fetch error is
// yielded once and ends the iteration; breaking out of the loop stops fetching.
func paginate[Item any](ctx context.Context, first string, fetch func(context.Context, string) ([]Item, string, error)) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		var zero Item
		token := first
		for {
			items, next, err := fetch(ctx, token)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, item := range items {
				if !yield(item, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			if next == token {
				yield(zero, fmt.Errorf("concord: the server returned page token %q again", next))
				return
			}
			token = next
		}
	}
}
