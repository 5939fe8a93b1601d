package iamlocal

import (
	"encoding/base64"
	"strconv"
)

// paginate returns the page of items (sorted by key) that Marker and
// MaxItems ask for. MaxItems defaults to 100 and must be 1..1000; the
// returned Marker is opaque: the encoded key of the next item.
func paginate[T any](p params, items []T, key func(T) string) ([]T, page, *apiError) {
	max, ok, err := p.intParam("MaxItems", "maxItems")
	if err != nil {
		return nil, page{}, err
	}
	if !ok {
		max = 100
	}
	if max < 1 {
		return nil, page{}, validationError(strconv.Itoa(max), "maxItems", "Member must have value greater than or equal to 1")
	}
	if max > 1000 {
		return nil, page{}, validationError(strconv.Itoa(max), "maxItems", "Member must have value less than or equal to 1000")
	}
	start := 0
	if p.has("Marker") {
		raw, decErr := base64.RawURLEncoding.DecodeString(p.str("Marker"))
		if decErr != nil || len(raw) == 0 {
			return nil, page{}, invalidInput("Invalid Marker.")
		}
		from := string(raw)
		for start < len(items) && key(items[start]) < from {
			start++
		}
	}
	end := min(start+max, len(items))
	var pg page
	if end < len(items) {
		pg.IsTruncated = true
		pg.Marker = base64.RawURLEncoding.EncodeToString([]byte(key(items[end])))
	}
	return items[start:end], pg, nil
}

// pageOf is paginate followed by view on each item of the page: the
// members of a List* result, an empty list (never nil) when none.
func pageOf[T, X any](p params, items []T, key func(T) string, view func(T) X) (memberList[X], page, *apiError) {
	items, pg, err := paginate(p, items, key)
	if err != nil {
		return memberList[X]{}, page{}, err
	}
	m := memberList[X]{Member: make([]X, 0, len(items))}
	for _, it := range items {
		m.Member = append(m.Member, view(it))
	}
	return m, pg, nil
}

// same is the view of items listed as they are.
func same[T any](x T) T { return x }
