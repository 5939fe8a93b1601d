package iamlocal

type callerIdentityResult struct {
	UserId  string
	Account string
	Arn     string
}

// getCallerIdentity answers STS GetCallerIdentity as for the account's
// root user, whatever credentials signed the request.
func getCallerIdentity(s *Server, _ params) (any, *apiError) {
	return callerIdentityResult{
		UserId:  s.opts.AccountID,
		Account: s.opts.AccountID,
		Arn:     "arn:aws:iam::" + s.opts.AccountID + ":root",
	}, nil
}
