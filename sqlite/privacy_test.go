package sqlite_test

import (
	"testing"

	"github.com/xiaobao-org/xiaobao/privacy"
	"github.com/xiaobao-org/xiaobao/storetest"
)

func TestPrivacyStore(t *testing.T) {
	storetest.ExercisePrivacy(t, func(t *testing.T) privacy.Store { return open(t) })
}
