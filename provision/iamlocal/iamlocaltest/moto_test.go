package iamlocaltest

import (
	"context"
	"os/exec"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

// A port another test's IAM endpoint took between finding it free and
// moto_server binding it is not taken for moto: moto is started again on
// another port, and the endpoint gets none of the calls meant for moto.
// StartMoto accepted any answer on the port, and a moto test once sent
// its calls to a local endpoint of another test (and failed both).
func TestStartMotoSkipsAPortAnotherServerHolds(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		StartMoto(t) // skips, or fails under REQUIRE_MOTO=1
		return
	}
	srv, taken := Start(t, iamlocal.Options{})
	takenPort := taken[len("http://127.0.0.1:"):]
	ports := 0
	url := startMoto(t, bin, func() (int, error) {
		ports++
		if ports == 1 {
			return strconv.Atoi(takenPort)
		}
		return freePort()
	})
	if url == taken {
		t.Fatalf("moto was taken to be the local endpoint at %s", taken)
	}
	srv.ResetCounters()
	if _, err := Client(t, url).CreatePolicy(context.Background(), &iam.CreatePolicyInput{PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if n := srv.Calls("CreatePolicy"); n != 0 {
		t.Errorf("the local endpoint on the taken port got %d of moto's calls", n)
	}
}
