package postgres_test

import (
	"testing"

	"github.com/xiaobao-org/xiaobao/storetest"
)

func TestCaseStore(t *testing.T) {
	storetest.ExerciseCases(t, func(t *testing.T) storetest.CaseStore { return open(t) })
}
