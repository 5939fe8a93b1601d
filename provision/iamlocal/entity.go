package iamlocal

// entity is how the calls on one kind of named entity (a role, an
// instance profile) read its name and find it.
type entity[T stored] struct {
	param, field string // the name parameter and its lowerCamel model name
	maxName      int
	tagQuota     string // names the per-entity tag limit
	all          func(*state) map[string]T
	missing      string // the NoSuchEntity message, %s the name
}

var (
	roleEntity = entity[*role]{param: "RoleName", field: "roleName", maxName: 64, tagQuota: "TagsPerRole",
		all:     func(st *state) map[string]*role { return st.Roles },
		missing: "The role with name %s cannot be found."}
	profileEntity = entity[*profile]{param: "InstanceProfileName", field: "instanceProfileName", maxName: 128,
		tagQuota: "TagsPerInstanceProfile", all: func(st *state) map[string]*profile { return st.Profiles },
		missing: "Instance Profile %s cannot be found."}
)

// name reads and validates the entity's name parameter.
func (e entity[T]) name(p params) (string, *apiError) {
	return nameParam(p, e.param, e.field, e.maxName)
}

// nameParam reads the required name parameter param and checks it as IAM
// checks a name of at most max characters; field names it in messages.
func nameParam(p params, param, field string, max int) (string, *apiError) {
	name, err := p.required(param, field)
	if err != nil {
		return "", err
	}
	return name, checkName(name, field, max)
}

// find returns the entity named name (case-insensitively). A read does not
// see an entity younger than the consistency delay.
func (e entity[T]) find(s *Server, name string, read bool) (T, *apiError) {
	x, ok := e.all(s.st)[nameKey(name)]
	if !ok || (read && !s.visible(x.createdAt())) {
		var none T
		return none, noSuchEntity(e.missing, name)
	}
	return x, nil
}

// on is the action of a call on one entity, answered in IAM's order of
// errors: the entity's name, then the call's other parameters (check,
// whose result do gets), then the entity itself, which a read does not see
// within the consistency delay. do answers the call.
func on[T stored, A any](e entity[T], write bool, check func(params) (A, *apiError), do func(s *Server, p params, x T, a A) (any, *apiError)) action {
	return action{write: write, run: func(s *Server, p params) (any, *apiError) {
		name, err := e.name(p)
		if err != nil {
			return nil, err
		}
		a, err := check(p)
		if err != nil {
			return nil, err
		}
		x, err := e.find(s, name, !write)
		if err != nil {
			return nil, err
		}
		return do(s, p, x, a)
	}}
}

// noParams is the check of a call with no parameter besides the name.
func noParams(params) (struct{}, *apiError) { return struct{}{}, nil }

// newEntity is what the Create* calls read first, in IAM's order: the
// name, the path and, for a call with a policy document, the document and
// the description.
type newEntity struct{ name, path, doc, description string }

// newEntityParams reads a newEntity; docParam (with its lowerCamel
// docField) is the required document parameter, "" for a call without one.
func newEntityParams(p params, name func(params) (string, *apiError), docParam, docField string) (in newEntity, err *apiError) {
	if in.name, err = name(p); err != nil {
		return in, err
	}
	if in.path, err = optionalPath(p); err != nil {
		return in, err
	}
	if docParam == "" {
		return in, nil
	}
	if in.doc, err = p.required(docParam, docField); err != nil {
		return in, err
	}
	in.description = p.str("Description")
	return in, checkDescription(in.description)
}

// checkRoom refuses a new entity whose name all already holds (in any
// case), with IAM's exists message, or one past the account's quota max.
func checkRoom[T any](all map[string]T, name, exists, quota string, max int) *apiError {
	if _, taken := all[nameKey(name)]; taken {
		return newError("EntityAlreadyExists", exists, name)
	}
	if len(all) >= max {
		return limitExceeded("Cannot exceed quota for %s: %d", quota, max)
	}
	return nil
}
