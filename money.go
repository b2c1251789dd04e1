package xiaobao

import (
	"errors"
	"strconv"
)

// Money is an amount in minor units (fen for CNY). Money is never a float:
// the contract sends decimal strings and every sum stays exact.
type Money int64

// MaxMoney bounds accepted amounts (10^13 yuan) so sums over 90 days of any
// realistic history cannot overflow int64.
const MaxMoney Money = 1_000_000_000_000_000

var (
	errMoneyEmpty    = errors.New("must not be empty")
	errMoneySyntax   = errors.New(`must be a decimal string such as "5000.00"`)
	errMoneyDecimals = errors.New("must have at most 2 decimals")
	errMoneyNegative = errors.New("must not be negative")
	errMoneyTooLarge = errors.New("is too large")
)

// ParseMoney parses a non-negative decimal string with at most two decimals.
// The returned error is a short reason suitable for a FieldError.
func ParseMoney(s string) (Money, error) {
	if s == "" {
		return 0, errMoneyEmpty
	}
	if s[0] == '-' {
		return 0, errMoneyNegative
	}
	var whole, frac int64
	i := 0
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		whole = whole*10 + int64(s[i]-'0')
		digits++
		if digits > 16 {
			return 0, errMoneyTooLarge
		}
	}
	if digits == 0 {
		return 0, errMoneySyntax
	}
	fdigits := 0
	if i < len(s) {
		if s[i] != '.' {
			return 0, errMoneySyntax
		}
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			fdigits++
			if fdigits > 2 {
				return 0, errMoneyDecimals
			}
			frac = frac*10 + int64(s[i]-'0')
		}
		if fdigits == 0 || i != len(s) {
			if i != len(s) {
				return 0, errMoneySyntax
			}
			return 0, errMoneySyntax
		}
	}
	if fdigits == 1 {
		frac *= 10
	}
	m := Money(whole*100 + frac)
	if m > MaxMoney {
		return 0, errMoneyTooLarge
	}
	return m, nil
}

// String formats m as a decimal string with two decimals.
func (m Money) String() string {
	neg := m < 0
	if neg {
		m = -m
	}
	b := make([]byte, 0, 24)
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendInt(b, int64(m/100), 10)
	b = append(b, '.')
	f := int64(m % 100)
	b = append(b, byte('0'+f/10), byte('0'+f%10))
	return string(b)
}

// Yuan returns m in major units as a float, for scoring and rules only; never
// for arithmetic that is stored.
func (m Money) Yuan() float64 { return float64(m) / 100 }
