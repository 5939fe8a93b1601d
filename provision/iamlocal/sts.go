package iamlocal

type callerIdentityResult struct {
	UserId  string
	Account string
	Arn     string
}

// getCallerIdentity answers STS GetCallerIdentity: the assumed role's
// session for temporary credentials, else the first account's root user,
// whatever plain credentials signed the request.
func getCallerIdentity(s *Server, _ params) (any, *apiError) {
	if se := s.who.session; se != nil {
		return callerIdentityResult{UserId: se.userID(), Account: se.account, Arn: se.arn()}, nil
	}
	return callerIdentityResult{UserId: s.who.account, Account: s.who.account, Arn: rootARN(s.who.account)}, nil
}
