package iamlocal

// tagEntity adds or overwrites the request's tags on have; quota names the
// per-entity limit in the LimitExceeded message.
func tagEntity(have *[]tag, p params, quota string) *apiError {
	merged := mergeTags(*have, p.tags())
	if len(merged) > maxTagsPerEntity {
		return limitExceeded("Cannot exceed quota for %s: %d", quota, maxTagsPerEntity)
	}
	*have = merged
	return nil
}

// requestTags validates the Tags of TagRole/TagInstanceProfile, which must
// name at least one.
func requestTags(p params) *apiError {
	tags := p.tags()
	if len(tags) == 0 {
		return validationError("\x00", "tags", "Member must not be null")
	}
	return checkTags(tags)
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
	items, pg, err := paginate(p, sorted, func(t tag) string { return t.Key })
	if err != nil {
		return nil, err
	}
	out := listTagsResult{page: pg}
	out.Tags.Member = []xmlTag{}
	for _, t := range items {
		out.Tags.Member = append(out.Tags.Member, xmlTag(t))
	}
	return out, nil
}

func tagRole(s *Server, p params) (any, *apiError) {
	name, err := roleName(p)
	if err != nil {
		return nil, err
	}
	if err := requestTags(p); err != nil {
		return nil, err
	}
	r, err := s.findRole(name, false)
	if err != nil {
		return nil, err
	}
	return nil, tagEntity(&r.Tags, p, "TagsPerRole")
}

func untagRole(s *Server, p params) (any, *apiError) {
	name, err := roleName(p)
	if err != nil {
		return nil, err
	}
	keys, err := requestTagKeys(p)
	if err != nil {
		return nil, err
	}
	r, err := s.findRole(name, false)
	if err != nil {
		return nil, err
	}
	r.Tags = removeTags(r.Tags, keys)
	return nil, nil
}

func listRoleTags(s *Server, p params) (any, *apiError) {
	name, err := roleName(p)
	if err != nil {
		return nil, err
	}
	r, err := s.findRole(name, true)
	if err != nil {
		return nil, err
	}
	return listTags(p, r.Tags)
}

func tagInstanceProfile(s *Server, p params) (any, *apiError) {
	name, err := profileName(p)
	if err != nil {
		return nil, err
	}
	if err := requestTags(p); err != nil {
		return nil, err
	}
	pr, err := s.findProfile(name, false)
	if err != nil {
		return nil, err
	}
	return nil, tagEntity(&pr.Tags, p, "TagsPerInstanceProfile")
}

func untagInstanceProfile(s *Server, p params) (any, *apiError) {
	name, err := profileName(p)
	if err != nil {
		return nil, err
	}
	keys, err := requestTagKeys(p)
	if err != nil {
		return nil, err
	}
	pr, err := s.findProfile(name, false)
	if err != nil {
		return nil, err
	}
	pr.Tags = removeTags(pr.Tags, keys)
	return nil, nil
}

func listInstanceProfileTags(s *Server, p params) (any, *apiError) {
	name, err := profileName(p)
	if err != nil {
		return nil, err
	}
	pr, err := s.findProfile(name, true)
	if err != nil {
		return nil, err
	}
	return listTags(p, pr.Tags)
}
