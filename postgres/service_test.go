package postgres_test

import (
	"testing"

	"github.com/xiaobao-org/xiaobao/service"
	"github.com/xiaobao-org/xiaobao/storetest"
)

func TestServiceStore(t *testing.T) {
	storetest.ExerciseService(t, func(t *testing.T) service.Store { return open(t) })
}
