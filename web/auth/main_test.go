package auth

import (
	"testing"

	"github.com/rolegate/rolegate/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }
