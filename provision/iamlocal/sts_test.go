package iamlocal_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
)

func TestCallerIdentity(t *testing.T) {
	t.Parallel()
	_, base := iamlocaltest.Start(t, iamlocal.Options{AccountID: "111122223333"})
	c := sts.NewFromConfig(iamlocaltest.Config(), func(o *sts.Options) { o.BaseEndpoint = aws.String(base) })
	out, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	must(t, "GetCallerIdentity", err)
	if aws.ToString(out.Account) != "111122223333" || aws.ToString(out.Arn) != "arn:aws:iam::111122223333:root" {
		t.Errorf("GetCallerIdentity = %s %s", aws.ToString(out.Account), aws.ToString(out.Arn))
	}
	body, status := post(t, base, "Action=GetCallerIdentity&Version=2011-06-15", true)
	if status != 200 || !strings.Contains(body, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`) {
		t.Errorf("raw answer %d: %s", status, body)
	}
}
