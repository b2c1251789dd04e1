package sqlite_test

import (
	"testing"

	"github.com/xiaobao-org/xiaobao/faq"
	"github.com/xiaobao-org/xiaobao/faq/faqtest"
)

func TestFAQStore(t *testing.T) {
	faqtest.Exercise(t, func(t *testing.T) faq.Store { return open(t) })
}
