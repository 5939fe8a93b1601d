package iamlocal

// tagEntity adds or overwrites tags on have; quota names the per-entity
// limit in the LimitExceeded message.
func tagEntity(have *[]tag, tags []tag, quota string) *apiError {
	merged := mergeTags(*have, tags)
	if len(merged) > maxTagsPerEntity {
		return limitExceeded("Cannot exceed quota for %s: %d", quota, maxTagsPerEntity)
	}
	*have = merged
	return nil
}

// requestTags reads and validates the Tags of TagRole/TagInstanceProfile,
// which must name at least one.
func requestTags(p params) ([]tag, *apiError) {
	tags := p.tags()
	if len(tags) == 0 {
		return nil, validationError("\x00", "tags", "Member must not be null")
	}
	return tags, checkTags(tags)
}

func requestTagKeys(p params) ([]string, *apiError) {
	keys := p.list("TagKeys")
	if len(keys) == 0 {
		return nil, validationError("\x00", "tagKeys", "Member must not be null")
	}
	return keys, checkTagKeys(keys)
}

type listTagsResult struct {
	Tags memberList[xmlTag]
	page
}

func listTags(p params, have []tag) (any, *apiError) {
	sorted := append([]tag(nil), have...)
	sortTags(sorted)
	members, pg, err := pageOf(p, sorted, func(t tag) string { return t.Key }, func(t tag) xmlTag { return xmlTag(t) })
	if err != nil {
		return nil, err
	}
	return listTagsResult{Tags: members, page: pg}, nil
}

// tag adds or overwrites tags on x (TagRole, TagInstanceProfile).
func (e entity[T]) tag(_ *Server, _ params, x T, tags []tag) (any, *apiError) {
	return nil, tagEntity(x.tagList(), tags, e.tagQuota)
}

// untag removes the tags with keys from x (UntagRole, UntagInstanceProfile).
func (e entity[T]) untag(_ *Server, _ params, x T, keys []string) (any, *apiError) {
	have := x.tagList()
	*have = removeTags(*have, keys)
	return nil, nil
}

// listTags lists x's tags by key (ListRoleTags, ListInstanceProfileTags).
func (e entity[T]) listTags(_ *Server, p params, x T, _ struct{}) (any, *apiError) {
	return listTags(p, *x.tagList())
}
